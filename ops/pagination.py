"""The API's page-numbered lists: `page` is a number from 1, and the schema says so."""

import re
from typing import Any

from django.core.paginator import Paginator
from rest_framework import exceptions, pagination
from rest_framework.request import Request

PAGE_NUMBER = re.compile(r"[0-9]+")


class PageNumberPagination(pagination.PageNumberPagination):
    # DRF would also take "last", read an empty value as page 1 and "2.0" as page 2: a value
    # the schema calls invalid must be refused, not guessed at.
    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Paginator[Any]) -> str:
        number: str = request.query_params.get(self.page_query_param, "1")
        if not PAGE_NUMBER.fullmatch(number):
            raise exceptions.ValidationError({self.page_query_param: ["Give a page number: 1, 2…"]})
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number, from 1. A page past the last one is 404.",
                "schema": {"type": "integer", "minimum": 1},
            }
        ]
