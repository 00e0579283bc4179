"""What CompreFace's nginx and Spring did around the routes: CORS, methods, slashes, limits, status."""

from __future__ import annotations

from tests.conftest import Api
from tests.support.squares import one_face


def test_options_answered_204_with_cors(api: Api) -> None:
    response = api.client.options("/api/v1/recognition/recognize")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-api-key" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-max-age"] == "1728000"


def test_cors_header_on_success_and_error(api: Api) -> None:
    assert api.client.get("/api/v1/config").headers["access-control-allow-origin"] == "*"
    assert api.client.get("/api/v1/recognition/subjects").headers["access-control-allow-origin"] == "*"


def test_wrong_method_is_405_with_compreface_body(api: Api) -> None:
    response = api.client.get("/api/v1/recognition/recognize", headers=api.headers())
    assert (response.status_code, response.json()) == (
        405,
        {"message": "Request method 'GET' not supported", "code": 0},
    )


def test_unknown_path_is_json_404(api: Api) -> None:
    response = api.client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == 0


def test_trailing_slash_everywhere(api: Api) -> None:
    response = api.client.post(
        "/api/v1/recognition/recognize/", files={"file": ("p.png", one_face())}, headers=api.headers()
    )
    assert response.status_code == 200
    assert api.client.get("/api/v1/config/").status_code == 200


def test_config_reports_limits(api: Api) -> None:
    assert api.client.get("/api/v1/config").json() == {"clientMaxFileSize": 5242880, "clientMaxBodySize": 10485760}


def test_consistence_status(api: Api) -> None:
    assert api.client.get("/api/v1/consistence/status").json() == {
        "demoFaceCollectionIsInconsistent": False,
        "dbIsInconsistent": False,
        "saveImagesToDB": True,
        "status": "OK",
    }


def test_consistence_sees_examples_of_another_model(api: Api) -> None:
    api.enrol("Tom", one_face())
    api.services.status.calculator_version = "another.Calculator@2"
    assert api.client.get("/api/v1/consistence/status").json()["dbIsInconsistent"] is True


def test_openapi_describes_every_face_route(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    expected = {
        ("post", "/api/v1/recognition/subjects"),
        ("get", "/api/v1/recognition/subjects"),
        ("put", "/api/v1/recognition/subjects/{subject}"),
        ("delete", "/api/v1/recognition/subjects/{subject}"),
        ("delete", "/api/v1/recognition/subjects"),
        ("post", "/api/v1/recognition/faces"),
        ("get", "/api/v1/recognition/faces"),
        ("delete", "/api/v1/recognition/faces"),
        ("delete", "/api/v1/recognition/faces/{image_id}"),
        ("post", "/api/v1/recognition/faces/delete"),
        ("get", "/api/v1/recognition/faces/{image_id}/img"),
        ("get", "/api/v1/static/{api_key}/images/{image_id}"),
        ("post", "/api/v1/recognition/recognize"),
        ("post", "/api/v1/recognition/embeddings/recognize"),
        ("post", "/api/v1/recognition/faces/{image_id}/verify"),
        ("post", "/api/v1/recognition/embeddings/faces/{image_id}/verify"),
        ("post", "/api/v1/detection/detect"),
        ("post", "/api/v1/verification/verify"),
        ("post", "/api/v1/verification/embeddings/verify"),
        ("get", "/api/v1/config"),
        ("get", "/api/v1/consistence/status"),
    }
    documented = {(method, path) for path, methods in paths.items() for method in methods}
    assert expected <= documented
    recognize = paths["/api/v1/recognition/recognize"]["post"]
    assert {p["name"] for p in recognize["parameters"]} >= {"limit", "prediction_count", "face_plugins", "status"}
    assert set(recognize["requestBody"]["content"]) == {"multipart/form-data", "application/json"}


# --- issue 9, finding 9: HEAD works on GET routes, and a 405 says what is allowed ------------------


def test_head_on_get_routes_answers_like_get_without_a_body(api: Api) -> None:
    image_id = api.enrol("Tom", one_face())
    for path, headers in (
        ("/api/v1/config", {}),
        ("/api/v1/recognition/subjects", api.headers()),
        ("/api/v1/recognition/faces", api.headers()),
        (f"/api/v1/recognition/faces/{image_id}/img", api.headers()),
        ("/healthz", {}),
    ):
        got = api.client.get(path, headers=headers)
        head = api.client.head(path, headers=headers)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))


def test_head_keeps_errors_and_authentication(api: Api) -> None:
    assert api.client.head("/api/v1/recognition/subjects").status_code == 400  # no key: code 20


def test_405_carries_allow_with_every_method_of_the_path(api: Api) -> None:
    subjects = api.client.patch("/api/v1/recognition/subjects", headers=api.headers())
    assert subjects.status_code == 405
    assert subjects.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, POST"
    recognize = api.client.get("/api/v1/recognition/recognize", headers=api.headers())
    assert recognize.headers["allow"] == "OPTIONS, POST"
