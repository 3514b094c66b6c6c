"""Reading the rows of a local CSV, JSON or JSONL file, with errors that name the file, the row and the column.

``datasets.load_dataset("csv"/"json", ...)`` answers most malformed files with ``DatasetGenerationError: An error
occurred while generating the dataset``; these readers say what is wrong and where instead:

* the encoding must be UTF-8 (a UTF-8 byte-order mark is accepted and dropped); a byte that is not is named with its
  byte offset, its line and (CSV) the row and column it falls in;
* a CSV row with more or fewer fields than the header names its row and the first missing (or the extra) column;
  a header with a repeated or missing column name is refused; blank lines are skipped, as pandas does, so row numbers
  are the same as ``datasets`` gives;
* JSON is a list of objects (or an object of equal-length column lists, or JSON lines); JSONL one object per line; a
  line that is not JSON, or not an object, is named.

Row numbers are 1-based data rows (the CSV header is not counted), as in :class:`geounlearn_trl.data.mcq.MCQFormatError`.
"""

from __future__ import annotations

import csv
import io
import json
import os

BOM = b"\xef\xbb\xbf"


class InputError(ValueError):
    """An input file the project can't use; the message names the file and, where there is one, the row or key and
    the field. Every loader's error derives from it (:class:`InputFormatError`, ``MCQFormatError``,
    ``PromptFormatError``, ``AnchorDictionaryError``, ...): ``geounlearn-trl <command>`` prints it as one line and exits
    with status 2, where the command modules' ``main`` functions raise it."""


class InputFormatError(InputError):
    """A file (or one of its rows) that can't be read; the message names the file, the row (or key) and the column."""

    def __init__(self, source: str, row: int | None, column: str | None, problem: str):
        where = source if row is None else f"{source}, row {row}"
        where = where if column is None else f"{where}, column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.source, self.row, self.column, self.problem = source, row, column, problem


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def read_text(path: str | os.PathLike) -> tuple[str, bytes, int]:
    """The file's text (UTF-8, a leading BOM dropped), its raw bytes and the length of the BOM it had (0 or 3).

    Raises :class:`InputFormatError` naming the byte offset and line of the first byte that is not UTF-8."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise InputFormatError(source, None, None, f"no such file (looked for {os.path.abspath(source)})") from None
    except IsADirectoryError:
        raise InputFormatError(source, None, None, "is a folder, not a file") from None
    skip = len(BOM) if raw.startswith(BOM) else 0
    try:
        return raw[skip:].decode("utf-8"), raw, skip
    except UnicodeDecodeError as error:
        offset = error.start + skip
        raise _encoding_error(source, raw, offset, None, None) from None


def _encoding_error(source: str, raw: bytes, offset: int, row: int | None, column: str | None) -> InputFormatError:
    line = _line_of(raw, offset)
    hint = ("a UTF-16 file (its byte-order mark): re-save it as UTF-8" if raw.startswith((b"\xff\xfe", b"\xfe\xff"))
            else "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")
    return InputFormatError(
        source, row, column, f"not UTF-8 text: byte 0x{raw[offset]:02x} at byte offset {offset} (line {line}); {hint}"
    )


def _locate_bad_byte(source: str, raw: bytes, skip: int) -> InputFormatError | None:
    """For a CSV that is not UTF-8: the row and column of the first bad byte (parsing with surrogate escapes)."""
    try:
        raw[skip:].decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        offset = error.start + skip
    text = raw[skip:].decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, row_number = None, 0
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None:
                header = fields
                bad = next((i for i, field in enumerate(fields) if _has_surrogate(field)), None)
                if bad is not None:
                    return _encoding_error(source, raw, offset, None, f"header field {bad + 1}")
                continue
            row_number += 1
            bad = next((i for i, field in enumerate(fields) if _has_surrogate(field)), None)
            if bad is not None:
                column = header[bad] if bad < len(header) else f"field {bad + 1}"
                return _encoding_error(source, raw, offset, row_number, column)
    except csv.Error:
        pass
    return _encoding_error(source, raw, offset, None, None)


def _has_surrogate(text: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in text)


def read_csv(path: str | os.PathLike) -> tuple[list[str], list[dict]]:
    """``(header, rows)`` of a CSV file, every value as text; see the module docstring for what is checked."""
    source = str(path)
    try:
        text, raw, skip = read_text(path)
    except InputFormatError as error:
        if "not UTF-8" not in error.problem:
            raise
        with open(path, "rb") as handle:
            raw = handle.read()
        located = _locate_bad_byte(source, raw, len(BOM) if raw.startswith(BOM) else 0)
        raise (located or error) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[dict] = []
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line (pandas skips them too)
            if header is None:
                header = [name.strip() for name in fields]
                for index, name in enumerate(header):
                    if not name:
                        header[index] = f"Unnamed: {index}"  # pandas' name for it (a trailing comma)
                seen = set()
                for name in header:
                    if name in seen:
                        raise InputFormatError(source, None, name, "the header names this column twice")
                    seen.add(name)
                continue
            number = len(rows) + 1
            if len(fields) < len(header):
                raise InputFormatError(
                    source, number, header[len(fields)],
                    f"ragged row (line {reader.line_num}): {len(fields)} fields, the header has {len(header)}; "
                    f"missing from column {header[len(fields)]!r} on (a missing comma, or an unquoted line break?)",
                )
            if len(fields) > len(header):
                raise InputFormatError(
                    source, number, f"field {len(header) + 1}",
                    f"ragged row (line {reader.line_num}): {len(fields)} fields, the header has {len(header)} "
                    f"(an unquoted comma in a text? quote the field)",
                )
            nul = next((i for i, value in enumerate(fields) if "\x00" in value), None)
            if nul is not None:
                raise InputFormatError(source, number, header[nul],
                                       f"NUL byte (line {reader.line_num}): a binary or UTF-16 file?")
            rows.append(dict(zip(header, fields)))
    except csv.Error as error:
        row = len(rows) + 1 if header is not None else None
        raise InputFormatError(source, row, None, f"not valid CSV (line {reader.line_num}): {error}") from None
    if header is None:
        raise InputFormatError(source, None, None, "empty file: no header row")
    return header, rows


def _parse_json_lines(source: str, text: str) -> list:
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputFormatError(
                source, len(records) + 1, None,
                f"line {line_number} is not valid JSON ({error.msg}; column {error.colno}); a line cut short by an "
                "interrupted write?",
            ) from None
        if not isinstance(value, dict):
            raise InputFormatError(
                source, len(records) + 1, None, f"line {line_number} is a JSON {type(value).__name__}, expected an object"
            )
        records.append(value)
    return records


def read_json_records(path: str | os.PathLike) -> list[dict]:
    """The records of a ``.jsonl`` (one object per line) or ``.json`` file (a list of objects, an object of
    equal-length column lists, or JSON lines)."""
    source = str(path)
    text, _raw, _skip = read_text(path)
    if not text.strip():
        raise InputFormatError(source, None, None, "empty file")
    if str(path).lower().endswith(".jsonl"):
        return _parse_json_lines(source, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several JSON values: JSON lines in a .json file
            return _parse_json_lines(source, text)
        raise InputFormatError(
            source, None, None, f"not valid JSON ({error.msg}; line {error.lineno}, column {error.colno})"
        ) from None
    if isinstance(data, dict) and data and all(isinstance(value, list) for value in data.values()):
        lengths = {key: len(value) for key, value in data.items()}
        if len(set(lengths.values())) != 1:
            raise InputFormatError(source, None, None, f"the column lists are not of the same length ({lengths})")
        keys = list(data)
        return [dict(zip(keys, values)) for values in zip(*data.values())]
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise InputFormatError(source, None, None, f"expected a JSON list of objects, got a {type(data).__name__}")
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise InputFormatError(source, index + 1, None, f"item {index} is a {type(record).__name__}, expected an object")
    return data


def as_text(value, source: str, row: int, column: str):
    """A JSON value as the text a CSV cell would hold: strings as they are, numbers and booleans written out, null as
    None; a list or object is an error (this column holds text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise InputFormatError(source, row, column, f"expected text, got a JSON {type(value).__name__} {value!r:.60}")


def read_table(path: str | os.PathLike, text_columns: tuple[str, ...] = ()) -> tuple[list[str], list[dict]]:
    """``(columns, rows)`` of a local ``.csv``, ``.json`` or ``.jsonl`` file, every value text or None.

    ``text_columns`` must hold text (a JSON list or object there is an error naming its row); other columns' lists and
    objects are kept as JSON text."""
    source = str(path)
    if source.lower().endswith(".csv"):
        return read_csv(path)
    records = read_json_records(path)
    columns = list(dict.fromkeys(key for record in records for key in record))
    rows = []
    for number, record in enumerate(records, start=1):
        row = {}
        for column in columns:
            value = record.get(column)
            if column in text_columns or not isinstance(value, (list, dict)):
                row[column] = as_text(value, source, number, column)
            else:
                row[column] = json.dumps(value, ensure_ascii=False)
        rows.append(row)
    return columns, rows
