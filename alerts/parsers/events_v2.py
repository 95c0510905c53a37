from django.http import HttpRequest, HttpResponse, JsonResponse


def receive(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "invalid event", "errors": ["placeholder"]}, status=400)
