"""Drives `esa-certs serve` with the official Alibaba Cloud SDKs.

Usage: esa_sdk.py SCENARIO PORT SITE [ARGS...]; prints one JSON object on
stdout with what the Rust test checks against the store. Every call goes
through the unmodified SDK (alibabacloud-esa20240910 for ACS3-HMAC-SHA256,
aliyun-python-sdk-core for the V1 HMAC-SHA1 signature); the only patches
are the SDK's own date and nonce functions, to send a skewed clock and a
repeated nonce.
"""
import json
import sys
import threading

from alibabacloud_esa20240910 import models as m
from alibabacloud_esa20240910.client import Client
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_util import models as util_models

SCENARIO, PORT, SITE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ARGS = sys.argv[4:]


def client(key="testAKID", secret="testSecret"):
    return Client(Config(access_key_id=key, access_key_secret=secret,
                         endpoint=f"127.0.0.1:{PORT}", protocol="http"))


def error_of(call):
    try:
        call()
    except Exception as e:  # the SDK's ClientException / ServerException
        return {"code": e.code, "status": e.status_code, "request_id": e.request_id,
                "message": e.message, "data": getattr(e, "data", None)}
    raise AssertionError("the call succeeded but an error was expected")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def all_ops():
    c = client()
    csr_pem, ca_pem = open(ARGS[0]).read(), open(ARGS[1]).read()
    out = {}
    r = c.create_client_certificate(m.CreateClientCertificateRequest(
        site_id=SITE, pkey_type="ECC_256", validity_days=30))
    check(r.status_code == 200, "create status")
    b = r.body
    check(isinstance(r.body.to_map()["ValidityDays"], str), "ValidityDays is a string")
    check(b.private_key.startswith("-----BEGIN PRIVATE KEY-----"), "generated key returned")
    check(r.headers.get("x-acs-request-id") == b.request_id, "header RequestId = body RequestId")
    out["generated"] = {"id": b.id, "certificate": b.certificate, "ca_id": b.cacertificate_id}

    r = c.create_client_certificate(m.CreateClientCertificateRequest(
        site_id=SITE, csr=csr_pem, validity_days=10))
    check(r.body.private_key == "", "no key for a CSR")
    out["csr"] = {"id": r.body.id, "common_name": r.body.common_name}

    g = c.get_client_certificate(m.GetClientCertificateRequest(site_id=SITE, id=out["generated"]["id"])).body
    gm = g.to_map()
    check(isinstance(gm["SiteId"], int) and isinstance(gm["Result"], dict), "Get types")
    check(g.result.status == "active" and g.status == "active", "Get status")
    check("PrivateKey" not in gm, "Get never returns the key")

    lst = c.list_client_certificates(m.ListClientCertificatesRequest(site_id=SITE, page_number=1, page_size=1)).body
    lm = lst.to_map()
    check(all(isinstance(lm[k], int) for k in ("TotalCount", "PageNumber", "PageSize", "SiteId")), "List types")
    check(lst.total_count == 2 and len(lst.result) == 1, "List paging")
    second = c.list_client_certificates(m.ListClientCertificatesRequest(site_id=SITE, page_number=2, page_size=1)).body
    check({lst.result[0].id, second.result[0].id} == {out["generated"]["id"], out["csr"]["id"]}, "two pages, both certs")

    cid = out["csr"]["id"]
    check(c.revoke_client_certificate(m.RevokeClientCertificateRequest(site_id=SITE, id=cid)).body.id == cid, "revoke")
    check(c.get_client_certificate(m.GetClientCertificateRequest(site_id=SITE, id=cid)).body.result.status == "revoked", "revoked")
    c.activate_client_certificate(m.ActivateClientCertificateRequest(site_id=SITE, id=cid))
    check(c.get_client_certificate(m.GetClientCertificateRequest(site_id=SITE, id=cid)).body.result.status == "active", "active again")
    c.revoke_client_certificate(m.RevokeClientCertificateRequest(site_id=SITE, id=cid))
    d = c.delete_client_certificate(m.DeleteClientCertificateRequest(site_id=SITE, id=cid)).body.to_map()
    check(set(d) == {"Id", "RequestId", "SiteId", "SiteName"}, f"ack fields {sorted(d)}")

    up = c.upload_client_ca_certificate(m.UploadClientCaCertificateRequest(
        site_id=SITE, name="corp root", certificate=ca_pem)).body
    upm = up.to_map()
    check("PrivateKey" not in upm and "CACertificateId" not in upm, "upload fields")
    check(isinstance(upm["ValidityDays"], str), "upload ValidityDays string")
    out["upload"] = {"id": up.id, "fingerprint": up.fingerprint_sha_256}
    gca = c.get_client_ca_certificate(m.GetClientCaCertificateRequest(site_id=SITE, id=up.id)).body
    check(gca.certificate.startswith("-----BEGIN CERTIFICATE-----") and gca.result.name == "corp root", "get CA")
    lca = c.list_client_ca_certificates(m.ListClientCaCertificatesRequest(site_id=SITE)).body
    check(lca.total_count == 1 and lca.result[0].id == up.id and lca.page_size == 20, "list CAs")

    h = c.set_client_ca_certificate_hostnames(m.SetClientCaCertificateHostnamesRequest(
        site_id=SITE, id=up.id, hostnames=["api.example.com", "WWW.example.com"])).body
    check(h.hostnames == ["api.example.com", "www.example.com"], f"CA hostnames {h.hostnames}")
    h = c.get_client_ca_certificate_hostnames(m.GetClientCaCertificateHostnamesRequest(site_id=SITE, id=up.id)).body
    check(h.hostnames == ["api.example.com", "www.example.com"], "CA hostnames read back")
    gid = out["generated"]["id"]
    c.set_client_certificate_hostnames(m.SetClientCertificateHostnamesRequest(
        site_id=SITE, id=gid, hostnames=["app.example.com"]))
    h = c.get_client_certificate_hostnames(m.GetClientCertificateHostnamesRequest(site_id=SITE, id=gid)).body
    check(h.hostnames == ["app.example.com"] and h.id == gid, "cert hostnames")
    h = c.get_client_ca_certificate_hostnames(m.GetClientCaCertificateHostnamesRequest(site_id=SITE)).body
    check(h.id == out["generated"]["ca_id"] and h.hostnames == [], "no Id: the managed CA")

    second_up = c.upload_client_ca_certificate(m.UploadClientCaCertificateRequest(
        site_id=SITE, name="to delete", certificate=open(ARGS[2]).read())).body
    c.delete_client_ca_certificate(m.DeleteClientCaCertificateRequest(site_id=SITE, id=second_up.id))
    check(c.list_client_ca_certificates(m.ListClientCaCertificatesRequest(site_id=SITE)).body.total_count == 1, "CA deleted")

    sites = c.list_sites(m.ListSitesRequest()).body
    out["sites"] = [(s.site_id, s.site_name, s.status) for s in sites.sites]
    return out


def errors():
    c = client()
    unknown_id = "0" * 32
    cases = {
        "MissingSiteId": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(pkey_type="ECC_256", validity_days=30)),
        "InvalidSiteId": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=999, pkey_type="ECC_256", validity_days=30)),
        "InvalidValidityDays": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=SITE, pkey_type="ECC_256", validity_days=0)),
        "InvalidValidityDaysHuge": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=SITE, pkey_type="ECC_256", validity_days=99999)),
        "InvalidPkeyType": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=SITE, pkey_type="DSA", validity_days=30)),
        "InvalidCsr": lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=SITE, csr="-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n", validity_days=30)),
        "InvalidId": lambda: c.get_client_certificate(m.GetClientCertificateRequest(site_id=SITE, id=unknown_id)),
        "InvalidIdMalformed": lambda: c.revoke_client_certificate(m.RevokeClientCertificateRequest(site_id=SITE, id="../../etc")),
        "InvalidCertificate": lambda: c.upload_client_ca_certificate(m.UploadClientCaCertificateRequest(site_id=SITE, certificate="not a pem")),
        "InvalidHostnames": lambda: c.set_client_ca_certificate_hostnames(m.SetClientCaCertificateHostnamesRequest(site_id=SITE, hostnames=["evil.com"])),
        "InvalidPage": lambda: c.list_client_certificates(m.ListClientCertificatesRequest(site_id=SITE, page_size=101)),
        "InvalidToken": lambda: client(secret="wrong").list_sites(m.ListSitesRequest()),
        "UnknownKey": lambda: client(key="nobody").list_sites(m.ListSitesRequest()),
    }
    out = {name: error_of(call) for name, call in cases.items()}

    live = c.create_client_certificate(m.CreateClientCertificateRequest(site_id=SITE, pkey_type="ECC_256", validity_days=30)).body.id
    out["StatusError"] = error_of(lambda: c.delete_client_certificate(m.DeleteClientCertificateRequest(site_id=SITE, id=live)))
    out["OtherSite"] = error_of(lambda: c.get_client_certificate(m.GetClientCertificateRequest(site_id=int(ARGS[0]), id=live)))
    if len(ARGS) > 1:
        quota_site = int(ARGS[1])
        c.create_client_certificate(m.CreateClientCertificateRequest(site_id=quota_site, pkey_type="ECC_256", validity_days=30))
        out["QuotaCheckFailed"] = error_of(lambda: c.create_client_certificate(m.CreateClientCertificateRequest(site_id=quota_site, pkey_type="ECC_256", validity_days=30)))

    # An action the API does not have, through the SDK's generic call.
    params = utils_models.Params(action="DescribeNothing", version="2024-09-10", protocol="HTTP",
                                 pathname="/", method="GET", auth_type="AK", style="RPC",
                                 req_body_type="formData", body_type="json")
    out["InvalidAction"] = error_of(lambda: c.call_api(params, utils_models.OpenApiRequest(query={"SiteId": str(SITE)}), util_models.RuntimeOptions()))

    # The SDK's own clock, skewed by a day: Unauthorized.InvalidTime.
    real_ts, real_nonce = Utils.get_timestamp, Utils.get_nonce
    Utils.get_timestamp = staticmethod(lambda: "2020-01-01T00:00:00Z")
    out["InvalidTime"] = error_of(lambda: c.list_sites(m.ListSitesRequest()))
    Utils.get_timestamp = real_ts
    # The same nonce twice: the second is a replay.
    Utils.get_nonce = staticmethod(lambda: "0123456789abcdef0123456789abcdef")
    c.list_sites(m.ListSitesRequest())
    out["Replay"] = error_of(lambda: c.list_sites(m.ListSitesRequest()))
    Utils.get_nonce = real_nonce
    out["live"] = live
    return out


def concurrent():
    clients, each = int(ARGS[0]), int(ARGS[1])
    serials, ids, failures = [], [], []
    lock = threading.Lock()

    def work():
        c = client()
        for _ in range(each):
            try:
                b = c.create_client_certificate(m.CreateClientCertificateRequest(
                    site_id=SITE, pkey_type="ECC_256", validity_days=30)).body
                with lock:
                    serials.append(b.serial_number)
                    ids.append(b.id)
            except Exception as e:
                with lock:
                    failures.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"serials": serials, "ids": ids, "failures": failures}


def v1():
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest
    c = AcsClient("testAKID", "testSecret", "cn-hangzhou")
    r = CommonRequest(domain=f"127.0.0.1:{PORT}", version="2024-09-10", action_name="CreateClientCertificate")
    r.set_method("POST")
    r.add_query_param("SiteId", SITE)
    r.add_body_params("PkeyType", "ECC_256")
    r.add_body_params("ValidityDays", 30)
    created = json.loads(c.do_action_with_exception(r))
    r = CommonRequest(domain=f"127.0.0.1:{PORT}", version="2024-09-10", action_name="GetClientCertificate")
    r.set_method("GET")
    r.add_query_param("SiteId", SITE)
    r.add_query_param("Id", created["Id"])
    got = json.loads(c.do_action_with_exception(r))
    bad = AcsClient("testAKID", "wrong", "cn-hangzhou")
    try:
        bad.do_action_with_exception(r)
        err = None
    except ServerException as e:
        err = {"code": e.get_error_code(), "status": e.get_http_status(), "request_id": e.get_request_id()}
    return {"created": created["Id"], "got": got["Result"]["Id"], "error": err}


def tls():
    c = Client(Config(access_key_id="testAKID", access_key_secret="testSecret",
                      endpoint=f"localhost:{PORT}", protocol="https", ca=ARGS[0]))
    b = c.create_client_certificate(m.CreateClientCertificateRequest(
        site_id=SITE, pkey_type="ECC_256", validity_days=30)).body
    return {"id": b.id, "sites": len(c.list_sites(m.ListSitesRequest()).body.sites)}


print(json.dumps({"tls": tls, "all-ops": all_ops, "errors": errors, "concurrent": concurrent, "v1": v1}[SCENARIO]()))
