"""Rich display for Jupyter: HTML views of messages."""
from __future__ import annotations

import html
from typing import Union

from . import _core

__all__ = ["install", "message_html", "describe", "dialog_html"]


def describe(msg: "Union[_core.Request, _core.Response]") -> dict:
    """A JSON-serializable description of a message: start line, the fields
    the dialog layer uses, URI parts and every header."""
    from ._values import NameAddress, URI, Via

    d: dict = {}
    if isinstance(msg, _core.Request):
        u = URI(msg.request_uri)
        d.update(type="request", method=msg.method, uri=msg.request_uri,
                 uri_parts={"scheme": u.scheme, "user": u.user, "host": u.host, "port": u.port,
                            "params": u.params})
    else:
        d.update(type="response", status_code=msg.status_code, reason=msg.reason)
    seq, method = msg.cseq
    d.update(call_id=msg.call_id, from_tag=msg.from_tag, to_tag=msg.to_tag,
             cseq={"seq": seq, "method": method}, max_forwards=msg.max_forwards,
             content_length=msg.content_length, via_branch=msg.via_branch)
    vias = []
    for v in msg.headers.getall("Via"):
        p = Via(v)
        vias.append({"transport": p.transport, "host": p.host, "port": p.port, "branch": p.branch,
                     "received": p.received, "rport": p.rport})
    d["vias"] = vias
    for key, name in (("from", "From"), ("to", "To")):
        na = NameAddress(msg.headers[name])
        d[key] = {"display": na.display, "uri": str(na.uri), "params": na.params}
    d["headers"] = [list(p) for p in msg.headers.items()]
    d["body"] = msg.body.decode("utf-8", "replace")
    return d


def message_html(msg: "Union[_core.Request, _core.Response]") -> str:
    """An HTML table of a message: start line, headers, body size."""
    e = html.escape
    if isinstance(msg, _core.Request):
        start = "%s %s SIP/2.0" % (msg.method, msg.request_uri)
    else:
        start = "SIP/2.0 %d %s" % (msg.status_code, msg.reason)
    rows = "".join("<tr><td style='text-align:left'><b>%s</b></td><td style='text-align:left'>"
                   "<code>%s</code></td></tr>" % (e(n), e(v)) for n, v in msg.headers.items())
    return ("<div class='sipdialog-message'><div><code><b>%s</b></code></div>"
            "<table>%s</table><div><i>body: %d bytes</i></div></div>"
            % (e(start), rows, len(msg.body)))


def dialog_html(dlg: "_core.Dialog") -> str:
    """An HTML view of a dialog: its fields, then its transition history."""
    e = html.escape
    s = dlg.snapshot()
    fields = [("id", s["id"]), ("role", s["role"]), ("state", s["state"]), ("call_id", s["call_id"]),
              ("local_tag", s["local_tag"]), ("remote_tag", s["remote_tag"]),
              ("local_uri", s["local_uri"]), ("remote_uri", s["remote_uri"]),
              ("local_target", s["local_target"]), ("remote_target", s["remote_target"]),
              ("route_set", ", ".join(s["route_set"]) or "(empty)"),
              ("local_seq", s["local_seq"]), ("remote_seq", s["remote_seq"]),
              ("secure", s["secure"]), ("closed", s["closed"])]
    rows = "".join("<tr><td style='text-align:left'><b>%s</b></td><td style='text-align:left'><code>%s</code>"
                   "</td></tr>" % (e(k), e("" if v is None else str(v))) for k, v in fields)
    t0 = s["created_at"]
    hist = "".join("<tr><td>+%.3f ms</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                   % ((h["at"] - t0) * 1e3, e(h["old"]), e(h["new"]), e(h["reason"]),
                      e(" ".join(str(x) for x in (h["method"], h["status"]) if x is not None)))
                   for h in s["history"])
    return ("<div class='sipdialog-dialog'><table>%s</table><table><tr><th>at</th><th>from</th><th>to</th>"
            "<th>reason</th><th>cause</th></tr>%s</table></div>" % (rows, hist))


def manager_html(mgr: "_core.DialogManager", limit: int = 20) -> str:
    """An HTML view of a manager: counts by state, then a table of its first
    `limit` dialogs (one consistent snapshot)."""
    e = html.escape
    if mgr.closed:
        return "<div class='sipdialog-manager'><b>DialogManager</b> (closed)</div>"
    st = mgr.stats()
    counts = "".join("<td>%s</td>" % st["by_state"][k] for k in st["by_state"])
    heads = "".join("<th>%s</th>" % e(k) for k in st["by_state"])
    snaps = mgr.snapshot()
    cols = ("id", "role", "state", "remote_uri", "local_seq", "remote_seq")
    body = "".join("<tr>%s</tr>" % "".join("<td style='text-align:left'><code>%s</code></td>"
                                           % e("" if s[c] is None else str(s[c])) for c in cols)
                   for s in snaps[:limit])
    more = ("<p>... and %d more</p>" % (len(snaps) - limit)) if len(snaps) > limit else ""
    return ("<div class='sipdialog-manager'><b>DialogManager</b>: %d dialogs, %d ended recently, %d shards, "
            "load factor %.2f<table><tr>%s</tr><tr>%s</tr></table><table><tr>%s</tr>%s</table>%s</div>"
            % (st["dialogs"], st["tombstones"], len(st["shards"]), st["load_factor"], heads, counts,
               "".join("<th>%s</th>" % c for c in cols), body, more))


def install() -> None:
    _core.Message._repr_html_ = message_html  # type: ignore[assignment]
    _core.Dialog._repr_html_ = dialog_html  # type: ignore[assignment]
    _core.DialogManager._repr_html_ = manager_html  # type: ignore[assignment]
