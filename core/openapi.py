"""OpenAPI schema post-processing: every operation documents the errors it can answer.

drf-spectacular documents the success response of each view; our API also answers 400
(a parameter or body refused, naming the field), 401/403 (not logged in or not allowed),
404, 405, 413 (body over the limit), 415 (a body of a media type the operation does not read;
operations with a body), 429 (too many failed log-ins) and 503 (database unreachable).
Clients and schemathesis read those from the schema.
"""

ERRORS = {
    "400": "The request was refused: the body maps each wrong field or parameter to its messages.",
    "401": "Authentication is required or failed.",
    "403": "Not allowed for this user (or not logged in).",
    "404": "No such object, or not visible to this user.",
    "405": "Method not allowed.",
    "413": "The request body is larger than allowed.",
    "415": "The request body's media type is not one this operation reads (see its request body).",
    "429": "Too many failed log-in attempts; see Retry-After.",
    "503": "The database is unreachable; see Retry-After.",
}

ERROR_SCHEMA = {
    "type": "object",
    "description": "Either {'detail': message} or {field: [messages]}.",
    "additionalProperties": True,
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code == "415" and "requestBody" not in operation:
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result
