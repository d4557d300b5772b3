"""The OpenAPI 3.0 definition of /ogcapi/ (the `service-desc` of the landing page)."""

from django.urls import reverse


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _json_response(description: str, media: str = "application/json") -> dict:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


ERRORS = {
    "400": _json_response("A query parameter has a bad value or is unknown (named in `errors`)."),
    "404": _json_response("No such collection or feature."),
}
# Answers any operation may give: wrong HTTP Basic credentials, too many failed log-ins,
# the database unreachable (with Retry-After).
COMMON = {
    "400": ERRORS["400"],
    "401": _json_response("HTTP Basic credentials were sent and are wrong."),
    "429": _json_response("Too many failed log-ins from this name or address; see Retry-After."),
    "503": _json_response("The database is unreachable for the moment; see Retry-After."),
}


def _responses(ok: dict, *, missing: bool = False) -> dict:
    return {"200": ok, **COMMON, **({"404": ERRORS["404"]} if missing else {})}


def openapi_document(request, collections, max_limit: int, default_limit: int) -> dict:
    base = request.build_absolute_uri(reverse("ogc:landing")).rstrip("/")
    ids = [c.id for c in collections]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ChildSafe Map – OGC API Features",
            "version": "1.0.0",
            "description": "Administrative units and mapped sites of Lai Châu; sites scoped to the reader.",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": base}],
        "paths": {
            "/": {
                "get": {
                    "operationId": "getLandingPage",
                    "summary": "Landing page",
                    "parameters": [_ref("f")],
                    "responses": _responses(_json_response("Links to the API definition and the data")),
                }
            },
            "/conformance": {
                "get": {
                    "operationId": "getConformanceDeclaration",
                    "summary": "Conformance classes implemented",
                    "parameters": [_ref("f")],
                    "responses": _responses(_json_response("The conformsTo list")),
                }
            },
            "/api": {
                "get": {
                    "operationId": "getAPIDefinition",
                    "summary": "This document",
                    "responses": _responses(
                        _json_response("OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0")
                    ),
                }
            },
            "/collections": {
                "get": {
                    "operationId": "getCollections",
                    "summary": "The feature collections",
                    "parameters": [_ref("f")],
                    "responses": _responses(_json_response("Collections with their extents")),
                }
            },
            "/collections/{collectionId}": {
                "get": {
                    "operationId": "describeCollection",
                    "summary": "One collection",
                    "parameters": [_ref("collectionId"), _ref("f")],
                    "responses": _responses(_json_response("The collection"), missing=True),
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "operationId": "getFeatures",
                    "summary": "Features of a collection, in id order",
                    "parameters": [
                        _ref("collectionId"),
                        _ref("limit"),
                        _ref("offset"),
                        _ref("bbox"),
                        _ref("datetime"),
                        _ref("f"),
                    ],
                    "responses": _responses(
                        _json_response("A GeoJSON FeatureCollection", "application/geo+json"), missing=True
                    ),
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "getFeature",
                    "summary": "One feature",
                    "parameters": [_ref("collectionId"), _ref("featureId"), _ref("f")],
                    "responses": _responses(
                        _json_response("A GeoJSON Feature", "application/geo+json"), missing=True
                    ),
                }
            },
        },
        "components": {
            "parameters": {
                "collectionId": {
                    "name": "collectionId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ids},
                },
                "featureId": {
                    "name": "featureId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_limit,
                        "default": default_limit,
                    },
                },
                "offset": {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "description": "Features to skip (the `next` and `prev` links carry it).",
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
                "bbox": {
                    "name": "bbox",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "description": "minLon,minLat,maxLon,maxLat in CRS84 (6 numbers with heights allowed)",
                    "schema": {
                        "type": "array",
                        "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                        "items": {"type": "number"},
                    },
                },
                "datetime": {
                    "name": "datetime",
                    "in": "query",
                    "required": False,
                    "style": "form",
                    "explode": False,
                    "description": (
                        "An instant, a date or an interval a/b ('..' for an open end). Units: their "
                        "validity period; sites: updated_at."
                    ),
                    "schema": {"type": "string"},
                },
                "f": {
                    "name": "f",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "geojson"]},
                },
            }
        },
    }


def add_tile_paths(result, generator, request, public):
    """drf-spectacular hook: the vector tiles (/tiles/, plain Django views) in the API schema, so
    that the documentation and schemathesis cover them like every /api/ operation."""
    from .collections import COLLECTIONS
    from .tiles import MAX_ZOOM, MVT

    layers = [c.id for c in COLLECTIONS.values() if c.tiled]
    layer = {
        "name": "layer",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": layers},
        "description": "A tiled collection of /ogcapi/",
    }

    def coordinate(name: str, maximum: int | None = None) -> dict:
        schema = {"type": "integer", "minimum": 0}
        if maximum is not None:
            schema["maximum"] = maximum
        return {"name": name, "in": "path", "required": True, "schema": schema}

    paths = result.setdefault("paths", {})
    paths["/tiles/{layer}/{z}/{x}/{y}.pbf"] = {
        "get": {
            "operationId": "tiles_tile",
            "summary": "A Mapbox Vector Tile of a layer (x and y below 2^z)",
            "tags": ["tiles"],
            "parameters": [layer, coordinate("z", MAX_ZOOM), coordinate("x"), coordinate("y")],
            "responses": {
                "200": {
                    "description": "The tile (sites clustered below zoom 11 with a count)",
                    "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "Not modified (If-None-Match matched the ETag)"},
            },
        }
    }
    paths["/tiles/{layer}.json"] = {
        "get": {
            "operationId": "tiles_tilejson",
            "summary": "TileJSON 3.0 of a layer",
            "tags": ["tiles"],
            "parameters": [layer],
            "responses": {"200": _json_response("TileJSON 3.0")},
        }
    }
    return result
