"""HTTP checks of the deploy: loopback requests that still name the site (Host header, SNI)."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request


def http_get(url: str, host: str, timeout: float = 3.0) -> tuple[int, str]:
    """(status, body) or (0, reason). Loopback checks: TLS unverified, SNI/Host name the site."""
    if not url.startswith(("http://", "https://")):
        return 0, f"not an http(s) URL: {url}"
    headers = {"Host": host} if host else {}
    request = urllib.request.Request(url, headers=headers)
    handlers: list = []
    if url.startswith("https://"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(SNIHandler(context, host))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as resp:
            return resp.status, resp.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc))


class SNIHandler(urllib.request.HTTPSHandler):
    """HTTPS to 127.0.0.1 that still sends the site's name as SNI, as a browser would."""

    def __init__(self, context: ssl.SSLContext, server_name: str):
        super().__init__(context=context)
        self._ctx = context
        self._name = server_name

    def https_open(self, req):
        import http.client

        ctx, name = self._ctx, self._name

        class Conn(http.client.HTTPSConnection):
            def connect(self):
                http.client.HTTPConnection.connect(self)
                self.sock = ctx.wrap_socket(self.sock, server_hostname=name or self.host)

        return self.do_open(Conn, req)
