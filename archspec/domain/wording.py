"""How a set of sizes is worded: ``H >= 16``, ``H = 16k, k >= 1``, ``H odd, H >= 7``.

A set is given as runs ``(m, start, end)``: the sizes ``start, start + m, ...`` up to ``end``
(None: endless). These functions only choose words; which runs make a set is ``SizeSet``'s.
"""

from __future__ import annotations

Run = tuple[int, int, int | None]


def runs_of(members: list[int], m: int, open_classes: set[int], checked: int | None) -> list[Run]:
    by_class: dict[int, list[int]] = {}
    for n in members:
        by_class.setdefault(n % m, []).append(n)
    runs: list[Run] = []
    for c, ns in by_class.items():
        start = prev = ns[0]
        for n in ns[1:]:
            if n != prev + m:
                runs.append((m, start, prev))
                start = n
            prev = n
        endless = c in open_classes or (checked is not None and prev + m > checked)
        runs.append((m, start, None if endless else prev))
    return sorted(runs, key=lambda run: run[1])


def _last_upto(m: int, start: int, end: int | None, upper: int | None) -> int | None:
    if upper is None:
        return end
    last = start + (upper - start) // m * m
    return last if end is None else min(end, last)


def phrases(name: str, runs: list[Run], upper: int | None) -> list[str]:
    items: list[tuple[int, str]] = []
    endless: dict[int, list[int]] = {}
    for m, start, end in runs:
        if upper is not None and start > upper:
            continue
        if end is None and m > 2:
            endless.setdefault(m, []).append(start)
        else:
            items.append((start, wording(name, m, start, _last_upto(m, start, end, upper))))
    for m, starts in endless.items():
        starts.sort()
        while starts:
            first = starts[0]
            group = [s for s in starts if s < first + m]
            starts = starts[len(group) :]
            if len(group) == 1:
                text = wording(name, m, first, _last_upto(m, first, None, upper))
            else:
                # Each class starts at its first member >= first, so this is exact.
                bound = f"{name} >= {first}" if upper is None else f"{first} <= {name} <= {upper}"
                text = f"{name} mod {m} in {{{_ranges(sorted(s % m for s in group))}}}, {bound}"
            items.append((first, text))
    return [text for _, text in sorted(items)]


def _ranges(values: list[int]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{values[i]}..{values[j]}")
        else:
            parts.extend(str(v) for v in values[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def wording(name: str, m: int, start: int, end: int | None) -> str:
    """One progression ``start, start + m, ...`` up to ``end`` in words.

    >>> wording("H", 16, 16, None), wording("W", 2, 3, 9), wording("C", 1, 4, 4)
    ('H = 16k, k >= 1', 'W odd, 3 <= W <= 9', 'C = 4')
    """
    if start == end:
        return f"{name} = {start}"
    if m == 1:
        return f"{name} >= {start}" if end is None else f"{start} <= {name} <= {end}"
    if m == 2:
        parity = "even" if start % 2 == 0 else "odd"
        bound = f"{name} >= {start}" if end is None else f"{start} <= {name} <= {end}"
        return f"{name} {parity}, {bound}"
    c = start % m
    form = f"{name} = {m}k" + (f" + {c}" if c else "")
    if end is None:
        return f"{form}, k >= {start // m}"
    return f"{form}, {start // m} <= k <= {end // m}"


__all__ = ["Run", "phrases", "runs_of", "wording"]
