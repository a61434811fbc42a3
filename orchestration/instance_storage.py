"""The local Dagster instance's storage (dagster.yaml): Dagster's SQLite storage, same files and schema, with the
event log's connections kept open instead of built afresh for every event.

Why: Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, opens a SQLite connection, commits with an
fsync and closes it again for every event it stores, twice for an asset or check event (the run's shard and the
cross-run index). A scale-1 `als-eca run` stores ~1,350 events and ~340 planned events: profiled on 2026-12-06,
`store_event` took 10.9 s of a 40.7 s run (engine creation 1.3 s, connect and close 2.2 s, commits 1.7 s,
statements 1.7 s). Here each shard keeps one engine with one connection (Dagster already serialises access to
the shards with its own lock), and the connections commit under SQLite's `synchronous=NORMAL`, which in WAL mode
(Dagster sets it on every shard) syncs at checkpoints rather than at every commit: a power cut can lose the last
events of a run's history, never corrupt it. The runs, the warehouse and the analysis results do not live here.

The alternative for a shared deployment is Dagster's PostgreSQL storage (`storage: postgres:` in dagster.yaml),
which pools its connections itself.
"""

from __future__ import annotations

import collections
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy.pool import StaticPool

#: Engines kept per process: the index shard and the few runs being written or watched at once (a webserver
#: reading many old runs opens and closes the rest as Dagster would).
OPEN_SHARDS = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one open connection per shard (the run's database, the index)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: collections.OrderedDict[str, db.engine.Engine] = collections.OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            # StaticPool: one connection for the engine's life. Used from several threads (the event watcher),
            # never at once: every use is under self._db_lock.
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            db.event.listen(engine, "connect", _fast_commits)
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > OPEN_SHARDS:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()


def _fast_commits(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's `storage: sqlite:` (same folders and files) with the pooled event log above."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        # (the stock event log the parent built holds no connection: it is only replaced)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
