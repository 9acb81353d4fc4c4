"""TLS check: days until the peer certificate expires, and whether it verifies.

The first handshake verifies as a client would (system trust store, host name). If the
certificate is rejected, a second handshake without verification still reads it, so a
self-signed or expired certificate reports its days left next to the reason it was refused.
The expiry is read from the DER certificate by a small reader here (``cryptography`` is not
a dependency; the tests check this reader against certificates that ``cryptography`` makes).
"""

from __future__ import annotations

import asyncio
import ssl
from contextlib import suppress
from datetime import datetime, timezone
from functools import cache

from warroom.checks.base import CheckFailed, Probe, State
from warroom.checks.tcp import TcpCheck, causes, describe_network_error, tls_context
from warroom.text import mask_text

# A client that does not trust the issuer may still be one of ours that pins a private CA:
# a warning. Any other rejection (wrong host name, expired, revoked) fails every client.
_UNTRUSTED_ISSUER = {
    2,   # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    18,  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19,  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21,  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
}


@cache
def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class TlsCheck(TcpCheck):
    """A TCP check that also completes a TLS handshake and reads the certificate."""

    def describe(self, exc: BaseException) -> str:
        if any(isinstance(e, (ConnectionResetError, ssl.SSLEOFError)) for e in causes(exc)):
            # Hung up on our ClientHello: whatever listens there does not speak TLS.
            text = f"TLS handshake with {self.target()} failed: connection closed by the server"
        else:
            text = describe_network_error(exc, self.host, self.target())
        return mask_text(text, self.secrets)

    async def probe(self) -> Probe:
        rejected: ssl.SSLCertVerificationError | None = None
        try:
            der = await self._certificate(tls_context())
        except ssl.SSLCertVerificationError as exc:
            rejected = exc
            der = await self._certificate(_unverified_context())
        if not der:
            raise CheckFailed(f"TLS handshake with {self.target()} gave no certificate")
        try:
            expires = not_after(der)
        except ValueError as exc:
            raise CheckFailed(f"cannot read the certificate's expiry from {self.target()}: {exc}") from None

        days = (expires - datetime.now(timezone.utc)).total_seconds() / 86400
        whole = int(days)  # 2.9 days left shows as 2, and the thresholds count the same way
        config = self.config
        if days <= 0:
            state, summary = State.CRITICAL, f"certificate expired {_days(-days)} ago ({expires:%Y-%m-%d})"
        else:
            state = State.CRITICAL if whole <= config.critical_days else (
                State.WARN if whole <= config.warn_days else State.OK)
            summary = f"certificate expires in {_days(days)} ({expires:%Y-%m-%d})"
        details = {"not_after": expires.isoformat(), "verified": rejected is None}
        if rejected is not None:
            reason = (rejected.verify_message or str(rejected)).rstrip(".")
            details["rejected"] = reason
            level = State.WARN if rejected.verify_code in _UNTRUSTED_ISSUER else State.CRITICAL
            state = State.worst((state, level))
            if days > 0:  # "expired" is already the whole story
                summary = f"certificate rejected: {reason}; {summary.removeprefix('certificate ')}"
        return Probe(state, mask_text(summary, self.secrets), value=round(days, 2), details=details)

    async def _certificate(self, context: ssl.SSLContext) -> bytes | None:
        # A cancelled handshake (the runner's timeout) aborts its transport.
        _, writer = await asyncio.open_connection(self.host, self.port, ssl=context, server_hostname=self.host)
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            return ssl_object.getpeercert(binary_form=True) if ssl_object else None
        finally:
            writer.close()
            with suppress(OSError):  # the certificate is read: a reset on the way out is no news
                await writer.wait_closed()


def _days(days: float) -> str:
    whole = int(days)
    return "less than a day" if whole == 0 else "1 day" if whole == 1 else f"{whole} days"


# --- the notAfter of an X.509 certificate, from DER (RFC 5280 4.1) -------------------------


def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the contents, end of the contents) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated certificate")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or pos + size > len(data):
            raise ValueError("bad length in certificate")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated certificate")
    return tag, pos, pos + length


_SEQUENCE, _UTC_TIME, _GENERALIZED_TIME, _VERSION = 0x30, 0x17, 0x18, 0xA0


def not_after(der: bytes) -> datetime:
    """When the certificate expires (UTC). ValueError if ``der`` is not a certificate."""
    tag, start, _ = _element(der, 0)  # Certificate
    if tag != _SEQUENCE:
        raise ValueError("not a DER certificate")
    tag, pos, _ = _element(der, start)  # TBSCertificate
    if tag != _SEQUENCE:
        raise ValueError("not a DER certificate")
    tag, _, end = _element(der, pos)
    if tag == _VERSION:
        pos = end
    # serialNumber, signature, issuer; then validity
    for _ in range(3):
        pos = _element(der, pos)[2]
    tag, pos, _ = _element(der, pos)
    if tag != _SEQUENCE:
        raise ValueError("no validity in certificate")
    pos = _element(der, pos)[2]  # notBefore
    tag, start, end = _element(der, pos)
    text = der[start:end].decode("ascii")
    if tag == _UTC_TIME and len(text) == 13:
        # RFC 5280: YY >= 50 is 19YY, else 20YY.
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME or len(text) != 15:
        raise ValueError(f"unexpected notAfter {text!r}")
    if not text.endswith("Z"):
        raise ValueError(f"unexpected notAfter {text!r}")
    return datetime.strptime(text[:-1], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
