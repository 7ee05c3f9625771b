"""Who fulfils a request: a field worker of the request's district, of a kind the category allows
(and, if they serve only some categories, one of those), available, with room under their
capacity; among those the least loaded relative to capacity, then the one who waited longest since
their last task. A supervisor may choose by hand (any district: that is what an address outside
every district needs), and a task not accepted in time goes to someone else.

Pure: workers' states come in, a choice comes out. `WorkerPool` keeps workers indexed by
(district, kind), so a choice looks only at the workers who could take the request, never at all of
them: thousands of field workers cost a few dictionary lookups and a short scan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hotline.core.errors import HotlineError


class AssignmentRefused(HotlineError):
    """That field worker cannot take that request (unavailable, full, of the wrong kind...)."""

    code = "assignment_refused"
    http_status = 409


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """A request category as assignment sees it."""

    id: str
    kinds: tuple[str, ...]
    information_only: bool = False
    accept_minutes: float = 30.0


@dataclass(slots=True)
class FieldWorkerSpec:
    """A field worker's state: who they are, where and what they serve, and their open tasks
    (`load`)."""

    id: str
    kind: str
    districts: frozenset[str]
    categories: frozenset[str] = frozenset()  # empty: every category their kind fulfils
    capacity: int = 1
    available: bool = True
    load: int = 0
    last_assigned_at: datetime | None = None

    def serves(self, category: CategorySpec) -> bool:
        """Of a kind the category allows, and (if limited to some categories) one of them."""
        return self.kind in category.kinds and (
            not self.categories or category.id in self.categories
        )

    @property
    def has_room(self) -> bool:
        return self.available and self.load < self.capacity


def can_take(worker: FieldWorkerSpec, category: CategorySpec, district: str) -> bool:
    """Whether automatic assignment may give this request to this worker."""
    return (
        not category.information_only
        and worker.has_room
        and district in worker.districts
        and worker.serves(category)
    )


def rank(worker: FieldWorkerSpec) -> tuple[float, int, float, str]:
    """Lower is chosen first: relative load, open tasks, time of the last task (never: first),
    then the id, so that equal workers are chosen in a stable order."""
    last = worker.last_assigned_at.timestamp() if worker.last_assigned_at else float("-inf")
    return (worker.load / worker.capacity, worker.load, last, worker.id)


def choose(
    candidates: Iterable[FieldWorkerSpec],
    category: CategorySpec,
    *,
    district: str,
    exclude: Iterable[str] = (),
) -> FieldWorkerSpec | None:
    """The field worker to give the request to, or None when nobody can take it now. `exclude`
    lists workers who declined it or let it time out."""
    excluded = frozenset(exclude)
    best: FieldWorkerSpec | None = None
    best_rank: tuple[float, int, float, str] | None = None
    for worker in candidates:
        if worker.id in excluded or not can_take(worker, category, district):
            continue
        key = rank(worker)
        if best_rank is None or key < best_rank:
            best, best_rank = worker, key
    return best


def ranked(
    candidates: Iterable[FieldWorkerSpec],
    category: CategorySpec,
    *,
    district: str,
    exclude: Iterable[str] = (),
) -> list[FieldWorkerSpec]:
    """Every worker who may take the request, best first: `choose`'s order, for a service that
    must fall back to the next one when the best was taken meanwhile."""
    excluded = frozenset(exclude)
    fitting = [w for w in candidates if w.id not in excluded and can_take(w, category, district)]
    return sorted(fitting, key=rank)


def check_manual(worker: FieldWorkerSpec, category: CategorySpec) -> None:
    """A supervisor's choice, checked: any district is allowed (the point of choosing by hand), but
    never an unavailable or full worker, nor one who does not serve the category."""
    if category.information_only:
        raise AssignmentRefused(
            "an information-only request is answered by the hotline, not by a field worker",
            category=category.id,
        )
    if not worker.serves(category):
        raise AssignmentRefused(
            f"a {worker.kind} does not fulfil requests of category {category.id!r}",
            worker_id=worker.id,
            category=category.id,
        )
    if not worker.available:
        raise AssignmentRefused("the field worker is not available", worker_id=worker.id)
    if worker.load >= worker.capacity:
        raise AssignmentRefused(
            f"the field worker already holds {worker.load} of {worker.capacity} tasks",
            worker_id=worker.id,
            load=worker.load,
            capacity=worker.capacity,
        )


def acceptance_deadline(assigned_at: datetime, category: CategorySpec) -> datetime:
    """When an assigned task that is still not accepted goes to someone else."""
    return assigned_at + timedelta(minutes=category.accept_minutes)


@dataclass
class WorkerPool:
    """Field workers indexed by (district, kind), with their loads: the in-memory form of the
    dispatch state, for the simulator, benchmarks and property tests (the service keeps the same
    index in the database)."""

    _workers: dict[str, FieldWorkerSpec] = field(default_factory=dict)
    _index: dict[tuple[str, str], dict[str, FieldWorkerSpec]] = field(default_factory=dict)

    @classmethod
    def of(cls, workers: Iterable[FieldWorkerSpec]) -> WorkerPool:
        pool = cls()
        for worker in workers:
            pool.put(worker)
        return pool

    def __len__(self) -> int:
        return len(self._workers)

    def __iter__(self) -> Iterator[FieldWorkerSpec]:
        return iter(self._workers.values())

    def get(self, worker_id: str) -> FieldWorkerSpec:
        return self._workers[worker_id]

    def put(self, worker: FieldWorkerSpec) -> None:
        """Add a worker, or replace one with the same id (new districts, kind, capacity...)."""
        self.remove(worker.id)
        self._workers[worker.id] = worker
        for district in worker.districts:
            self._index.setdefault((district, worker.kind), {})[worker.id] = worker

    def remove(self, worker_id: str) -> None:
        worker = self._workers.pop(worker_id, None)
        if worker is None:
            return
        for district in worker.districts:
            bucket = self._index.get((district, worker.kind))
            if bucket is not None:
                bucket.pop(worker_id, None)

    def candidates(self, district: str, kinds: Iterable[str]) -> Iterator[FieldWorkerSpec]:
        """The workers of `district` of any of `kinds`: all that automatic assignment looks at."""
        for kind in kinds:
            yield from self._index.get((district, kind), {}).values()

    def choose(
        self, category: CategorySpec, *, district: str, exclude: Iterable[str] = ()
    ) -> FieldWorkerSpec | None:
        return choose(
            self.candidates(district, category.kinds), category, district=district, exclude=exclude
        )

    def assign(self, worker_id: str, *, at: datetime) -> None:
        """Count a new task for the worker; refused beyond their capacity."""
        worker = self._workers[worker_id]
        if worker.load >= worker.capacity:
            raise AssignmentRefused("the field worker is full", worker_id=worker_id)
        worker.load += 1
        worker.last_assigned_at = at

    def release(self, worker_id: str) -> None:
        """A task left the worker (done, failed, cancelled, declined or re-assigned)."""
        worker = self._workers[worker_id]
        if worker.load <= 0:
            raise ValueError(f"field worker {worker_id!r} holds no task to release")
        worker.load -= 1

    def set_available(self, worker_id: str, available: bool) -> None:
        self._workers[worker_id].available = available
