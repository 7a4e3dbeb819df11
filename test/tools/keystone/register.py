"""Registers what the Keystone suites need, straight in the database of a bootstrapped Keystone
(as `keystone-manage bootstrap` does, before the server starts: Keystone on SQLite takes one
writer, and the API's writes raced its own sessions into "database is locked"): a project and a
user with the `member` role on it, and Swift as the `object-store` service with public,
internal and admin endpoints in the region.
Usage: register.py KEYSTONE_CONF PROJECT USER USER_PASSWORD REGION SWIFT_URL — prints the project id."""
import sys
import uuid

import keystone.conf
from keystone.common import provider_api, sql
from keystone.server import backends

conf_file, project, user, password, region, swift = sys.argv[1:7]
CONF = keystone.conf.CONF
keystone.conf.configure()
sql.initialize()
CONF(args=[], project="keystone", default_config_files=[conf_file])
backends.load_backends()
P = provider_api.ProviderAPIs

project_id = uuid.uuid4().hex
P.resource_api.create_project(project_id, {
    "id": project_id, "name": project, "domain_id": "default", "enabled": True, "description": ""})
user_id = P.identity_api.create_user({
    "name": user, "domain_id": "default", "enabled": True, "password": password})["id"]
member = [r for r in P.role_api.list_roles() if r["name"] == "member"][0]
P.assignment_api.add_role_to_user_and_project(user_id=user_id, project_id=project_id, role_id=member["id"])

service_id = uuid.uuid4().hex
P.catalog_api.create_service(service_id, {
    "id": service_id, "name": "swift", "type": "object-store", "enabled": True})
for interface in ("public", "internal", "admin"):
    endpoint_id = uuid.uuid4().hex
    P.catalog_api.create_endpoint(endpoint_id, {
        "id": endpoint_id, "interface": interface, "service_id": service_id, "enabled": True,
        "region_id": region, "url": swift + "/v1/AUTH_$(project_id)s"})
print(project_id)
