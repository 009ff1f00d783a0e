"""Names of the sample district's people, and the e-mail local parts made from them."""

from __future__ import annotations

import random
import string
import unicodedata

FEMALE_NAMES = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Elizabeth", "Sofia", "Camila", "Aria", "Scarlett", "Valentina",
    "Lucía", "Ximena", "Priya", "Ananya", "Aaliyah", "Imani", "Nia", "Zainab", "Fatima",
    "Aisha", "Mei", "Yuna", "Hana", "Leilani", "Maya", "Chloe", "Grace", "Naomi", "Esther",
    "Keisha", "Guadalupe", "Siobhan", "Ingrid",
)  # fmt: skip
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Theodore", "Mateo", "Santiago", "Diego", "José", "Carlos", "Luis", "Arjun", "Rohan",
    "Vikram", "Malik", "Jamal", "Darnell", "Kwame", "Omar", "Yusuf", "Ibrahim", "Wei",
    "Hiroshi", "Minjun", "Kai", "Ethan", "Daniel", "Samuel", "David", "Gabriel", "Andre",
    "Sean", "Patrick", "Dmitri", "Tomás",
)  # fmt: skip
FAMILY_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Patel", "Shah", "Kim", "Park", "Chen", "Wang",
    "Singh", "Khan", "Ali", "Okafor", "Adeyemi", "Mensah", "Haddad", "Cohen", "Goldberg",
    "Kowalski", "Novak", "O'Brien", "Murphy", "Sullivan", "Rossi", "Esposito", "Schmidt",
    "Müller", "Yamamoto", "Tanaka", "Nakamura", "Santos", "Oliveira", "Díaz", "Begay",
    "Yazzie",
)  # fmt: skip


def fold_ascii(name: str) -> str:
    """Fold a name to lower-case ASCII letters for an address."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.lower() if c in string.ascii_lowercase)


def personal_local(rng: random.Random, given: str, family: str) -> str:
    """Return a plausible local part of a personal e-mail address."""
    g, f = fold_ascii(given), fold_ascii(family)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{g}.{f}"
    if pattern == 1:
        return f"{g}{f}{rng.randrange(1, 100)}"
    if pattern == 2:
        return f"{g[0]}{f}{rng.randrange(60, 100)}"
    return f"{f}.{g}"
