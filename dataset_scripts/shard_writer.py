"""Write rows into numbered Parquet shards per split, incrementally (memory stays flat).

Shards are first written as ``{split}-00000.parquet``, ``{split}-00001.parquet``, ...
and renamed to the Hub's ``{split}-XXXXX-of-YYYYY.parquet`` once the split's shard
count is known (:meth:`ShardWriters.finish`). Uses the ``datasets`` ParquetWriter, so the
files carry the :class:`datasets.Features` in their schema metadata.
"""

from __future__ import annotations

import os


class SplitWriter:
    """Writes one split's rows into numbered Parquet shards of ``samples_per_shard`` rows."""

    def __init__(self, root: str, split: str, features, samples_per_shard: int, rows_per_group: int):
        self.root, self.split, self.features = root, split, features
        self.samples_per_shard, self.rows_per_group = samples_per_shard, rows_per_group
        self.paths: list[str] = []
        self.writer = None
        self.in_shard = 0
        self.total = 0

    def _open(self):
        from datasets.arrow_writer import ParquetWriter

        path = os.path.join(self.root, f"{self.split}-{len(self.paths):05d}.parquet")
        self.paths.append(path)
        self.writer = ParquetWriter(features=self.features, path=path, writer_batch_size=self.rows_per_group)
        self.in_shard = 0

    def write(self, rows: dict[str, list]):
        """Append a batch of rows (column name -> values); starts new shards as they fill."""
        num_rows = len(next(iter(rows.values())))
        done = 0
        while done < num_rows:
            if self.writer is None or self.in_shard >= self.samples_per_shard:
                self.close()
                self._open()
            take = min(num_rows - done, self.samples_per_shard - self.in_shard)
            self.writer.write_batch({column: values[done : done + take] for column, values in rows.items()})
            self.in_shard += take
            self.total += take
            done += take

    def close(self):
        if self.writer is not None:
            self.writer.finalize()
            self.writer.close()
            self.writer = None

    def finish(self) -> list[str]:
        """Close and rename shards to ``{split}-XXXXX-of-YYYYY.parquet``; return the new names."""
        self.close()
        names = []
        for i, path in enumerate(self.paths):
            name = f"{self.split}-{i:05d}-of-{len(self.paths):05d}.parquet"
            os.replace(path, os.path.join(self.root, name))
            names.append(name)
        return names


class ShardWriters:
    """One :class:`SplitWriter` per split under ``root``, opened on a split's first rows.

    As a context manager it closes every open shard when the block raises, so the
    folder can be removed (the caller's job) without a writer holding a file.
    """

    def __init__(self, root: str, features, samples_per_shard: int, rows_per_group: int):
        os.makedirs(root, exist_ok=True)
        self.root, self.features = root, features
        self.samples_per_shard, self.rows_per_group = samples_per_shard, rows_per_group
        self.by_split: dict[str, SplitWriter] = {}

    def write(self, split: str, rows: dict[str, list]) -> None:
        if split not in self.by_split:
            self.by_split[split] = SplitWriter(self.root, split, self.features, self.samples_per_shard, self.rows_per_group)
        self.by_split[split].write(rows)

    def finish(self) -> dict[str, list[str]]:
        """Close every split; ``{split: [shard file names]}`` in the order splits were first written."""
        return {split: writer.finish() for split, writer in self.by_split.items()}

    def close(self) -> None:
        """Close every open shard, ignoring errors (used when abandoning a build)."""
        for writer in self.by_split.values():
            try:
                writer.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.close()
        return False


__all__ = ["ShardWriters", "SplitWriter"]
