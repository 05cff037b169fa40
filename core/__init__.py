"""The bottom layer: what every other package may use and that uses nothing of theirs.

* `core.clock` — agency time (Eastern) and the one `now()`;
* `core.money` — text ↔ integer cents, the only place amounts are parsed;
* `core.identifiers` — BN9, RM15, security account and transaction numbers;
* `core.problems` — `Problem`, the one value type for "something in the data is wrong";
* `core.errors` — `CarmError`, the root of every exception the engine raises;
* `core.settings` — `Settings`, read once from the environment at the edge;
* `core.db` — engines and the dialect's upsert;
* `core.files` — atomic file writes.

Nothing here imports another package of the project (`docs/architecture.md`).
"""
