# gunicorn reads this file from the directory it starts in (the project root: Procfile, Docker).

# The longest request line, in bytes (gunicorn's maximum; its default is 4094). Every query the
# API schema allows fits: the incident list's filters at their longest, percent-encoded, take
# about 7,200 bytes, and a reverse proxy in front commonly allows 8 KiB.
limit_request_line = 8190
