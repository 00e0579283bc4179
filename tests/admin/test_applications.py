"""Applications, members and services through the admin API, as the owner (roles: test_roles.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from facekeeper.domain import Role
from tests.admin.conftest import Admin


def test_application_lifecycle(admin: Admin) -> None:
    owner = admin.owner
    created = admin.application("Shop")
    assert created | {"id": None, "created_at": None} == {
        "id": None,
        "name": "Shop",
        "role": "OWNER",
        "service_count": 0,
        "created_at": None,
    }
    assert created["created_at"].endswith("+00:00")
    app_id = created["id"]
    admin.service(app_id, "faces")
    listed = owner.ok("GET", "/applications")["applications"]
    assert [(a["name"], a["service_count"], a["role"]) for a in listed] == [("Shop", 1, "OWNER")]
    assert owner.ok("PATCH", f"/applications/{app_id}", json={"name": "Store"})["name"] == "Store"
    assert owner.ok("GET", f"/applications/{app_id}")["name"] == "Store"
    assert owner.ok("DELETE", f"/applications/{app_id}")["name"] == "Store"
    assert owner.get(f"/applications/{app_id}").json()["code"] == 2
    assert owner.ok("GET", "/applications") == {"applications": []}


def test_application_names_are_checked(admin: Admin) -> None:
    owner = admin.owner
    admin.application("Shop")
    for name, code in (("", 26), ("  ", 26), ("a" * 51, 26), ("a/b", 26), ("a;b", 26), ("a\\b", 26), ("shop", 17)):
        response = owner.post("/applications", json={"name": name})
        assert (response.status_code, response.json()["code"]) == (400, code), (name, response.text)
    bodies: list[object] = [{}, {"name": 5}, []]
    for body in bodies:
        response = owner.post("/applications", json=body)
        assert (response.status_code, response.json()["code"]) == (400, 26), body
    other = admin.application("Other")
    taken = owner.call("PATCH", f"/applications/{other['id']}", json={"name": "SHOP"})
    assert (taken.status_code, taken.json()) == (400, {"message": "Name SHOP is not unique", "code": 17})
    assert len(owner.ok("GET", "/applications")["applications"]) == 2


def test_unknown_ids_answer_404(admin: Admin) -> None:
    owner = admin.owner
    missing = str(uuid.uuid4())
    for method, path, code in (
        ("GET", f"/applications/{missing}", 2),
        ("PATCH", f"/applications/{missing}", 2),
        ("DELETE", f"/applications/{missing}", 2),
        ("GET", f"/applications/{missing}/services", 2),
        ("GET", f"/applications/{missing}/members", 2),
        ("GET", f"/services/{missing}", 10),
        ("PATCH", f"/services/{missing}", 10),
        ("DELETE", f"/services/{missing}", 10),
        ("POST", f"/services/{missing}/key", 10),
        ("GET", f"/services/{missing}/stats", 10),
        ("GET", f"/services/{missing}/subjects", 10),
    ):
        response = owner.call(method, path, json={"name": "x"})
        assert (response.status_code, response.json()["code"]) == (404, code), (method, path, response.text)


def test_services_create_list_rename_delete(admin: Admin) -> None:
    owner = admin.owner
    app_id = admin.application()["id"]
    made = {t: admin.service(app_id, f"s-{t.lower()}", t) for t in ("RECOGNITION", "DETECTION", "VERIFY")}
    for type_name, service in made.items():
        assert service["type"] == type_name and service["application_id"] == app_id
        assert uuid.UUID(service["api_key"]).version == 4 and service["api_key"] == service["api_key"].lower()
        assert service["example_count"] == 0
    listed = owner.ok("GET", f"/applications/{app_id}/services")["services"]
    assert [s["name"] for s in listed] == ["s-recognition", "s-detection", "s-verify"]
    got = owner.ok("GET", f"/services/{made['RECOGNITION']['id']}")
    assert (got["subject_count"], got["example_count"], got["role"]) == (0, 0, "OWNER")
    renamed = owner.ok("PATCH", f"/services/{made['DETECTION']['id']}", json={"name": "boxes"})
    assert renamed["name"] == "boxes" and renamed["api_key"] == made["DETECTION"]["api_key"]
    assert owner.ok("DELETE", f"/services/{made['VERIFY']['id']}")["name"] == "s-verify"
    gone = owner.client.post(
        "/api/v1/verification/embeddings/verify",
        json={"source": [1.0], "targets": [[1.0]]},
        headers={"x-api-key": made["VERIFY"]["api_key"]},
    )
    assert gone.json()["code"] == 10
    assert [s["name"] for s in owner.ok("GET", f"/applications/{app_id}/services")["services"]] == [
        "s-recognition",
        "boxes",
    ]


def test_service_bodies_are_checked(admin: Admin) -> None:
    owner = admin.owner
    app_id = admin.application()["id"]
    admin.service(app_id, "faces")
    path = f"/applications/{app_id}/services"
    for body, code, message in (
        ({"name": "x", "type": "recognition"}, 26, "Model Type 'recognition' doesn't exist!"),
        ({"name": "x", "type": "VERIFICATION"}, 26, "Model Type 'VERIFICATION' doesn't exist!"),
        ({"name": "FACES", "type": "DETECTION"}, 17, "Name FACES is not unique"),
        ({"name": "", "type": "DETECTION"}, 26, "Service name cannot be empty"),
        ({"name": "a/b", "type": "DETECTION"}, 26, "Service name cannot contain ';', '/' or '\\'"),
    ):
        response = owner.post(path, json=body)
        assert (response.status_code, response.json()) == (400, {"message": message, "code": code}), body
    assert owner.post(path, json={"name": "x"}).json()["code"] == 26
    assert len(owner.ok("GET", path)["services"]) == 1


def test_regenerated_key_stops_the_old_one_at_once(admin: Admin) -> None:
    owner = admin.owner
    service = admin.service(admin.application()["id"])
    old = service["api_key"]
    subjects = "/api/v1/recognition/subjects"
    assert owner.client.post(subjects, json={"subject": "Ada"}, headers={"x-api-key": old}).status_code == 201
    changed = owner.ok("POST", f"/services/{service['id']}/key")
    assert changed["api_key"] != old and changed["id"] == service["id"]
    refused = owner.client.get(subjects, headers={"x-api-key": old})
    assert (refused.status_code, refused.json()["code"]) == (404, 10)
    kept = owner.client.get(subjects, headers={"x-api-key": changed["api_key"]})
    assert kept.json() == {"subjects": ["Ada"]}  # the collection stays with the service


def test_regenerated_key_is_seen_by_another_process_at_once(admin: Admin, tmp_path: Path) -> None:
    """A second app on the same database (another server process) refuses the old key immediately."""
    from fastapi.testclient import TestClient

    from facekeeper.app import create_app
    from tests.support import squares

    service = admin.service(admin.application()["id"])
    settings = squares.test_settings(data_dir=tmp_path, database_url=admin.services.db.url)
    with TestClient(create_app(settings, squares.registry())) as other:
        subjects = "/api/v1/recognition/subjects"
        assert other.get(subjects, headers={"x-api-key": service["api_key"]}).status_code == 200
        changed = admin.owner.ok("POST", f"/services/{service['id']}/key")
        assert other.get(subjects, headers={"x-api-key": service["api_key"]}).json()["code"] == 10
        assert other.get(subjects, headers={"x-api-key": changed["api_key"]}).status_code == 200


def test_deleting_an_application_deletes_its_services_and_collections(admin: Admin) -> None:
    owner = admin.owner
    app_id = admin.application()["id"]
    service = admin.service(app_id)
    key = {"x-api-key": service["api_key"]}
    assert owner.client.post("/api/v1/recognition/subjects", json={"subject": "Ada"}, headers=key).status_code == 201
    kept = admin.service(admin.application("Other")["id"], "kept")
    owner.ok("DELETE", f"/applications/{app_id}")
    assert owner.client.get("/api/v1/recognition/subjects", headers=key).json()["code"] == 10
    assert owner.get(f"/services/{service['id']}").status_code == 404
    assert owner.ok("GET", f"/services/{kept['id']}")["name"] == "kept"
    with admin.services.db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM subject").scalar_one() == 0


def test_request_counts_per_day(admin: Admin) -> None:
    owner = admin.owner
    service = admin.service(admin.application()["id"])
    other = admin.service(admin.application("Other")["id"], "other")
    for _ in range(3):
        owner.client.get("/api/v1/recognition/subjects", headers={"x-api-key": service["api_key"]})
    owner.client.get("/api/v1/recognition/subjects", headers={"x-api-key": other["api_key"]})
    owner.client.get("/api/v1/recognition/subjects", headers={"x-api-key": str(uuid.uuid4())})  # no service
    stats = owner.ok("GET", f"/services/{service['id']}/stats", params={"days": 7})
    assert len(stats["days"]) == 7 and stats["total"] == 3
    assert stats["days"][-1]["requests"] == 3 and all(d["requests"] == 0 for d in stats["days"][:-1])
    assert stats["days"][0]["date"] < stats["days"][-1]["date"]
    admin.services.usage.flush()  # written to the database: the same answer
    assert owner.ok("GET", f"/services/{service['id']}/stats", params={"days": 7})["total"] == 3
    owner.client.get("/api/v1/recognition/subjects", headers={"x-api-key": service["api_key"]})
    assert owner.ok("GET", f"/services/{service['id']}/stats", params={"days": 1})["days"][0]["requests"] == 4
    assert len(owner.ok("GET", f"/services/{service['id']}/stats")["days"]) == 30  # the default
    for days in ("0", "367", "x"):
        response = owner.get(f"/services/{service['id']}/stats", params={"days": days})
        assert (response.status_code, response.json()["code"]) == (400, 26), days


def test_members_add_change_remove(admin: Admin) -> None:
    owner = admin.owner
    app_id = admin.application()["id"]
    admin.services.accounts.create("ann@example.com", "password 1", Role.USER, "Ann")
    path = f"/applications/{app_id}/members"
    added = owner.ok("POST", path, 201, json={"email": "ANN@example.com", "role": "USER"})
    assert added | {"account_id": None} == {
        "account_id": None,
        "email": "ann@example.com",
        "name": "Ann",
        "role": "USER",
    }
    ann = added["account_id"]
    members = owner.ok("GET", path)["members"]
    assert [(m["email"], m["role"]) for m in members] == [("owner@example.com", "OWNER"), ("ann@example.com", "USER")]
    assert owner.ok("PUT", f"{path}/{ann}", json={"role": "ADMINISTRATOR"})["role"] == "ADMINISTRATOR"
    for body, status, code in (
        ({"email": "ann@example.com", "role": "USER"}, 400, 19),
        ({"email": "nobody@example.com", "role": "USER"}, 404, 16),
        ({"email": "ann@example.com", "role": "BOSS"}, 400, 26),
    ):
        response = owner.post(path, json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    me = owner.account["id"] if owner.account else ""
    assert owner.call("PUT", f"{path}/{me}", json={"role": "USER"}).json()["code"] == 14
    assert owner.call("DELETE", f"{path}/{me}").json()["code"] == 9  # the application's owner stays
    assert owner.ok("DELETE", f"{path}/{ann}")["email"] == "ann@example.com"
    assert owner.call("DELETE", f"{path}/{ann}").json()["code"] == 16
    assert [m["email"] for m in owner.ok("GET", path)["members"]] == ["owner@example.com"]


def test_making_a_member_owner_demotes_the_previous_owner(admin: Admin) -> None:
    owner = admin.owner
    app_id = admin.application()["id"]
    admin.services.accounts.create("ann@example.com", "password 1", Role.USER)
    path = f"/applications/{app_id}/members"
    ann = owner.ok("POST", path, 201, json={"email": "ann@example.com", "role": "USER"})["account_id"]
    owner.ok("PUT", f"{path}/{ann}", json={"role": "OWNER"})
    roles = {m["email"]: m["role"] for m in owner.ok("GET", path)["members"]}
    assert roles == {"owner@example.com": "ADMINISTRATOR", "ann@example.com": "OWNER"}
    response = owner.call("PUT", f"{path}/{ann}", json={"role": "USER"})
    assert (response.status_code, response.json()["code"]) == (400, 9)  # promote someone else first
