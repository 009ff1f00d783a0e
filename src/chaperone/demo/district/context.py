"""The random source of one generated district, and the pools that keep contacts unique."""

from __future__ import annotations

import random
import string

from chaperone.demo.district.model import PERSONAL_DOMAINS
from chaperone.demo.district.names import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, personal_local


class PhonePool:
    """Unique fictional 914 mobile numbers: 555-1000…9999 first, then 220…299 exchanges."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._free = [n for n in range(1000, 10000) if n != 1212]
        rng.shuffle(self._free)
        self._used: set[int] = set()

    def take(self) -> str:
        """Return a number in E.164 that was not handed out before."""
        if self._free:
            return f"+1914555{self._free.pop():04d}"
        while True:
            number = self._rng.randrange(2_200_000, 3_000_000)
            if number not in self._used:
                self._used.add(number)
                return f"+1914{number:07d}"


class Context:
    """Random source plus the registries that keep e-mails and phones unique."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phones = PhonePool(self.rng)
        self._emails: set[str] = set()

    def person_name(self) -> tuple[str, str, str]:
        """Return a random given name, family name and sex."""
        sex = self.rng.choice(("female", "male"))
        given = self.rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
        return given, self.rng.choice(FAMILY_NAMES), sex

    def email(self, local: str, domain: str) -> str:
        """Return local@domain, adding a digit when the address is already taken."""
        address, suffix = f"{local}@{domain}", 2
        while address in self._emails:
            address, suffix = f"{local}{suffix}@{domain}", suffix + 1
        self._emails.add(address)
        return address

    def personal_email(self, given: str, family: str) -> str:
        """Return a unique personal address at a consumer mail provider."""
        local = personal_local(self.rng, given, family)
        return self.email(local, self.rng.choice(PERSONAL_DOMAINS))

    def password(self) -> str:
        """Return a random throw-away password."""
        return "Pw-" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=10))

    def mobile(self) -> str:
        """Return a unique personal mobile number in a common notation."""
        return styled(self.rng, self.phones.take())


def styled(rng: random.Random, e164: str) -> str:
    """Write an E.164 NANP number in one of the notations people type."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (
            e164,
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
        )
    )
