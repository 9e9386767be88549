"""/api/v1/openapi.json documents every error as a Problem, and the real API keeps to the document (schemathesis).

The document is checked whole: it validates, and every operation lists 401 and 429 (403 too when it writes)
as application/problem+json Problems, so a client can handle the errors of any operation the same way.
"""

from __future__ import annotations

from openapi_spec_validator import validate

WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get"}


def _resolved(document: dict, response: dict) -> dict:
    """A response of the document, its $ref (to components/responses) followed."""
    if "$ref" in response:
        return document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_every_operation_documents_its_errors_as_problems(anonymous):
    document = anonymous.get("/api/v1/openapi.json").json
    validate(document)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"]) and "errors" in problem["properties"]
    error = document["components"]["schemas"]["ProblemError"]
    assert set(error["properties"]) == {"pointer", "detail"}
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS  # beside them: the path's own parameters
    ]
    assert operations
    for path, method, operation in operations:
        responses = operation["responses"]
        expected = {"401", "429"} | ({"403"} if method in WRITES else set()) | ({"404"} if "{" in path else set())
        assert expected <= set(responses), (method, path, sorted(responses))
        assert "default" not in responses  # it would make every status conform
        for status, response in responses.items():
            if int(status) >= 400:
                content = _resolved(document, response)["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert "Retry-After" in _resolved(document, responses["429"])["headers"]
