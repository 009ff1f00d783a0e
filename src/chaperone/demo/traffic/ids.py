"""Message and record ids in the style of the system that would assign them."""

from __future__ import annotations

import random
import string

from chaperone.demo.district import STAFF_DOMAIN
from chaperone.demo.traffic.draws import pick

_HOSTS = ("BN6", "CY4", "DM6", "MN2", "SN6", "BL0")
_TOKEN = string.ascii_letters + string.digits + "-_"


class Ids:
    """Unique message ids in the style of the system that would assign them."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def email(self, rng: random.Random, sender: str) -> str:
        """A Message-ID as the sender's mail system writes it."""
        domain = sender.rpartition("@")[2]
        while True:
            if domain == "gmail.com":
                value = f"<CA{_token(rng, 40)}@mail.gmail.com>"
            elif domain.endswith(STAFF_DOMAIN) or domain == "outlook.com":
                number = int(rng.random() * 90_000)
                host = f"{pick(rng, _HOSTS)}PR{10 + number % 10}MB{1000 + number // 10}"
                local = f"{host}{rng.getrandbits(64):016X}"
                value = f"<{local}@{host}.namprd{host[5:7]}.prod.outlook.com>"
            else:
                value = f"<{guid(rng)}@{domain or 'localhost'}>"
            if value not in self._seen:
                self._seen.add(value)
                return value

    def other(self, rng: random.Random, prefix: str) -> str:
        """An id such as a texting platform or phone system gives a record."""
        while True:
            value = f"{prefix}{rng.getrandbits(128):032x}"
            if value not in self._seen:
                self._seen.add(value)
                return value


def _token(rng: random.Random, length: int) -> str:
    """A random URL-safe token."""
    return "".join(rng.choices(_TOKEN, k=length))


def guid(rng: random.Random) -> str:
    """A random GUID in its usual 8-4-4-4-12 form."""
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
