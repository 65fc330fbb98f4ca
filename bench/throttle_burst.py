"""How many of a burst of parallel wrong passwords reach the password check (issue 11, finding 4).

Against a running server: sign up one account, send ``--burst`` wrong
passwords for it at once (its address in mixed case and with whitespace),
then the right one. A 401 is an attempt whose password was checked; a 429
one the throttle refused before the check. With ``LOGIN_MAX_FAILURES=5`` at
most 5 may be 401, and the right password sent next must get 429.

    .venv/bin/python bench/throttle_burst.py --url http://127.0.0.1:18320 --bursts 3
"""

import argparse
import threading
import uuid
from collections import Counter

import httpx

PASSWORD = "the right password"


def spellings(email: str) -> list[str]:
    return [email, email.upper(), f"  {email} ", email.title(), f"\t{email}"]


def one_burst(url: str, burst: int) -> tuple[Counter[int], int]:
    email = f"burst-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("/users", json={"name": "Burst", "email": email, "password": PASSWORD}).status_code == 201
    barrier = threading.Barrier(burst)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def guess(index: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            username = spellings(email)[index % 5]
            status = http.post("/users/login", data={"username": username, "password": "wrong password"}).status_code
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with httpx.Client(base_url=url, timeout=60) as http:
        right = http.post("/users/login", data={"username": email, "password": PASSWORD}).status_code
    return statuses, right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=3)
    arguments = parser.parse_args()
    for number in range(1, arguments.bursts + 1):
        statuses, right = one_burst(arguments.url, arguments.burst)
        print(
            f"burst {number}: {statuses[401]} checked (401), {statuses[429]} refused (429), "
            f"other { {s: n for s, n in statuses.items() if s not in (401, 429)} }; right password next: {right}"
        )


if __name__ == "__main__":
    main()
