"""Resumable, chunked results: ``<output>.parts/`` while running, ``<output>.parquet`` + ``<output>.tsv`` when done.

The TSV starts with ``# column: meaning`` lines (the legend; read it with
``pandas.read_csv(path, sep="\\t", comment="#")``), the Parquet file carries the same legend as
JSON in its schema metadata (``genebert_legend``).

Each chunk of ``chunk_size`` variants (in input order) is written as its own Parquet part,
atomically (temporary name, then rename). A killed run leaves complete parts only; run the
same command again and it skips the chunks already written. ``run.json`` in the parts folder
records the run's settings; a rerun with other settings refuses to mix them with the old
parts. The final files are written from the parts one at a time (memory stays flat), under
temporary names renamed at the end, so a file named ``<output>.parquet`` is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def output_prefix(output: str | os.PathLike) -> str:
    """``--output`` without a ``.parquet`` / ``.tsv`` ending: the prefix every file of the run is named by."""
    output = os.fspath(output)
    for suffix in (".parquet", ".tsv"):
        output = output.removesuffix(suffix)
    return output


def finished_files(output: str | os.PathLike) -> list[str]:
    """The files a finished run leaves: ``<prefix>.parquet``, ``.tsv`` and ``.summary.json``."""
    prefix = output_prefix(output)
    return [prefix + suffix for suffix in (".parquet", ".tsv", ".summary.json")]


class ChunkedResults:
    def __init__(self, output: str | os.PathLike, settings: dict, overwrite: bool = False):
        output = output_prefix(output)
        self.output = Path(output)
        self.parts = Path(output + ".parts")
        self.parquet, self.tsv = Path(output + ".parquet"), Path(output + ".tsv")
        self.columns: list[str] = []
        self.output.parent.mkdir(parents=True, exist_ok=True)
        manifest = self.parts / "run.json"
        if overwrite and self.parts.exists():
            shutil.rmtree(self.parts)
        if manifest.exists():
            old = json.loads(manifest.read_text())
            if old != json.loads(json.dumps(settings)):
                raise ValueError(f"{self.parts} holds parts of a run with other settings ({manifest}); "
                                 f"pass --overwrite to start again, or rerun with the same options to resume")
        self.parts.mkdir(parents=True, exist_ok=True)
        tmp = self.parts / f".run.json.{os.getpid()}.tmp"  # several processes may write it (accelerate launch)
        tmp.write_text(json.dumps(settings, indent=1, sort_keys=True))
        os.replace(tmp, manifest)

    def part(self, index: int) -> Path:
        return self.parts / f"part-{index:06d}.parquet"

    def done(self, index: int) -> bool:
        return self.part(index).exists()

    def done_indices(self) -> set[int]:
        return {int(path.stem.split("-")[1]) for path in self.parts.glob("part-*.parquet")}

    def write(self, index: int, frame: pd.DataFrame, stats: dict | None = None) -> None:
        tmp = self.parts / f".part-{index:06d}.tmp"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if stats:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"genebert_stats": json.dumps(stats).encode()})
        pq.write_table(table, tmp)
        os.replace(tmp, self.part(index))

    def part_stats(self) -> list[dict]:
        out = []
        for path in sorted(self.parts.glob("part-*.parquet")):
            meta = pq.read_schema(path).metadata or {}
            out.append(json.loads(meta.get(b"genebert_stats", b"{}")))
        return out

    def finish(self, header: Callable[[list[str]], list[str]] | None = None,
               metadata: Callable[[list[str]], dict[str, str]] | None = None) -> int:
        """Merge the parts into the final Parquet + TSV; remove the parts; return the row count.

        ``header(columns)`` gives comment lines (``# ...``) written above the TSV's column names;
        ``metadata(columns)`` entries go into the Parquet schema metadata. ``self.columns`` holds the
        column names after.
        """
        parts = sorted(self.parts.glob("part-*.parquet"))
        tmp_parquet, tmp_tsv = self.parquet.with_suffix(".parquet.tmp"), self.tsv.with_suffix(".tsv.tmp")
        rows, writer, schema = 0, None, None
        with open(tmp_tsv, "w", encoding="utf-8") as tsv:
            for i, path in enumerate(parts):
                table = pq.read_table(path).replace_schema_metadata(None)
                if writer is None:
                    self.columns = list(table.schema.names)
                    if metadata is not None:
                        table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata(self.columns).items()})
                    schema = table.schema
                    if header is not None:
                        tsv.writelines(line + "\n" for line in header(self.columns))
                    writer = pq.ParquetWriter(tmp_parquet, schema)
                table = table.cast(schema)
                writer.write_table(table)
                table.to_pandas().to_csv(tsv, sep="\t", index=False, header=i == 0, float_format="%.6g")
                rows += table.num_rows
        if writer is not None:
            writer.close()
            os.replace(tmp_parquet, self.parquet)
        os.replace(tmp_tsv, self.tsv)
        shutil.rmtree(self.parts)
        return rows


__all__ = ["ChunkedResults"]
