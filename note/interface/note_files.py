"""The two export formats of SPEC §12, written as streams and read back with care.

JSON: ``{"format": "til-notes", "version": 1, "exported_at", "notes": [...]}``, written note by
note. Markdown: a zip with one ``notes/YYYYMMDD-<id>.md`` per note, YAML front matter (PyYAML's
``safe_dump``, so any title survives: colons, quotes, Korean, emoji) between ``---`` lines, then
the content exactly as stored. The zip is written into the response stream (``zipfile`` on an
unseekable sink), so neither format is ever whole in memory.

Reading is where the care goes: a body is at most ``IMPORT_MAX_BYTES`` (the middleware), but a
zip can claim or unpack to far more. Archives of more than ``MAX_ZIP_ENTRIES`` entries, or whose
entries declare or actually unpack past the limit, are refused (``ImportTooLarge``) and every
entry is read through a bounded read; names that are absolute or climb out (``..``) are refused.
"""

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from note.application.commands import NoteToImport
from note.domain.errors import ImportTooLarge, InvalidNoteInput
from note.domain.note import Note, format_memo_date
from note.interface.schemas import ExportedNote, ImportedNote, NoteImport

MAX_ZIP_ENTRIES = 100_000
# Bytes handed to the response at a time: big enough for few sends, small enough to stay flat.
CHUNK_BYTES = 64 * 1024
FRONT_MATTER = "---\n"
FRONT_MATTER_END = "\n---\n"
# The earliest moment a zip entry can carry (MS-DOS time).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CENTRAL_DIRECTORY_ENTRY = b"PK\x01\x02"
_DRIVE = re.compile(r"^[A-Za-z]:")
# What reading a broken or unusual entry raises: bad CRC, truncated data, unknown compression, encryption.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError)


# Writing


def json_export(notes: Iterable[Note], *, exported_at: datetime) -> Iterator[bytes]:
    """The JSON export, in chunks."""

    def pieces() -> Iterator[bytes]:
        header = {"format": "til-notes", "version": 1, "exported_at": _timestamp(exported_at)}
        yield orjson.dumps(header)[:-1] + b',"notes":['
        for index, note in enumerate(notes):
            yield (b"," if index else b"") + orjson.dumps(ExportedNote.from_domain(note).model_dump(mode="json"))
        yield b"]}"

    return _chunked(pieces())


def markdown_zip_export(notes: Iterable[Note], *, exported_at: datetime) -> Iterator[bytes | memoryview]:
    """The Markdown zip, in chunks, written as the notes come. Every entry carries the export's time."""
    sink = _Sink()
    modified = _zip_time(exported_at)
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.filelist = _PackedEntries(modified)
        for note in notes:
            entry = zipfile.ZipInfo(markdown_file_name(note), date_time=modified)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, markdown_file(note).encode("utf-8"))
            # Only for reading an archive, or warning of a repeated name (ids are unique): not kept.
            archive.NameToInfo.clear()
            if sink.pending >= CHUNK_BYTES:
                yield sink.take()
    yield sink.take()


class _PackedEntries(list[zipfile.ZipInfo]):
    """zipfile's record of the entries written, which it reads once, for the central directory at the end.

    A ``ZipInfo`` costs about 400 bytes; here an entry is about 80 bytes in one growing buffer (its numbers
    and name), so the central directory of 100 000 notes holds 8 MB, not 40. Entries come back as
    ``ZipInfo`` one at a time.
    """

    _NUMBERS = struct.Struct("<IQQQHHIBBH")  # ... and the length of the name that follows

    def __init__(self, date_time: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self._date_time = date_time
        self._packed = bytearray()
        self._count = 0

    def append(self, entry: zipfile.ZipInfo) -> None:
        name = entry.filename.encode("utf-8")
        self._packed += self._NUMBERS.pack(
            entry.CRC,
            entry.compress_size,
            entry.file_size,
            entry.header_offset,
            entry.flag_bits,
            entry.compress_type,
            entry.external_attr,
            entry.create_version,
            entry.extract_version,
            len(name),
        )
        self._packed += name
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        offset = 0
        while offset < len(self._packed):
            *numbers, name_length = self._NUMBERS.unpack_from(self._packed, offset)
            offset += self._NUMBERS.size
            name = self._packed[offset : offset + name_length].decode("utf-8")
            offset += name_length
            entry = zipfile.ZipInfo(name, date_time=self._date_time)
            (
                entry.CRC,
                entry.compress_size,
                entry.file_size,
                entry.header_offset,
                entry.flag_bits,
                entry.compress_type,
                entry.external_attr,
                entry.create_version,
                entry.extract_version,
            ) = numbers
            yield entry
        self._packed = bytearray()  # read once: zipfile writes the index, then closes


def markdown_file_name(note: Note) -> str:
    return f"notes/{format_memo_date(note.memo_date)}-{note.id}.md"


def markdown_file(note: Note) -> str:
    """YAML front matter, then the content unchanged."""
    exported = ExportedNote.from_domain(note).model_dump(mode="json")
    front = {key: exported[key] for key in ("id", "title", "memo_date", "tags", "created_at", "updated_at")}
    # No line folding (width): a long title stays on one line.
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"{FRONT_MATTER}{dumped}---\n{note.content}"


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what is written until taken: zipfile writes the archive into it."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def take(self) -> memoryview:
        """What was written since the last take, handed over without a copy (the end: the whole index)."""
        taken, self._buffer = self._buffer, bytearray()
        return memoryview(taken)


def _chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    moment = value.astimezone(UTC)
    return max(ZIP_EPOCH, (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second))


# Reading


def read_json_import(body: bytes) -> list[NoteToImport]:
    """The notes of a JSON export; a bad one is a 422 whose ``loc`` names it (``body, notes, 7, title``)."""
    try:
        return NoteImport.model_validate_json(body).to_commands()
    except ValidationError as error:
        raise _located(error, ()) from None


def read_markdown_zip(body: bytes, *, max_bytes: int) -> list[NoteToImport]:
    """The notes of a Markdown zip, in archive order; a bad one is a 422 naming its file."""
    if body.count(_CENTRAL_DIRECTORY_ENTRY) > MAX_ZIP_ENTRIES:  # an upper bound, before zipfile lists them
        raise ImportTooLarge(f"an archive holds at most {MAX_ZIP_ENTRIES} entries")
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except _UNREADABLE:
        raise InvalidNoteInput("the body is not a zip archive") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise ImportTooLarge(f"an archive holds at most {MAX_ZIP_ENTRIES} entries")
        for entry in entries:
            _check_name(entry.filename)
        if sum(entry.file_size for entry in entries) > max_bytes:
            raise ImportTooLarge(f"the archive unpacks to more than {max_bytes} bytes (IMPORT_MAX_BYTES)")
        budget = max_bytes
        notes: list[NoteToImport] = []
        for entry in entries:
            if not is_note_file(entry):
                continue
            data = _read_bounded(archive, entry, budget)
            budget -= len(data)
            notes.append(_note_from_markdown(entry.filename, data))
        return notes


def is_note_file(entry: zipfile.ZipInfo) -> bool:
    """Every ``.md`` file is a note; folders, other files and macOS's ``__MACOSX/`` are passed over."""
    name = entry.filename
    return not entry.is_dir() and name.endswith(".md") and not name.startswith("__MACOSX/")


def _check_name(name: str) -> None:
    parts = re.split(r"[/\\]", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts or "\x00" in name:
        raise InvalidNoteInput("an archive entry's name must be a relative path inside it", location=(name,))


def _read_bounded(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int) -> bytes:
    """The entry's bytes, reading at most one past ``budget``: what it declares is never trusted alone."""
    try:
        with archive.open(entry) as stream:
            data = stream.read(budget + 1)
    except _UNREADABLE as error:
        raise InvalidNoteInput(f"the entry cannot be read: {error}", location=(entry.filename,)) from None
    if len(data) > budget:
        raise ImportTooLarge("the archive unpacks to more than IMPORT_MAX_BYTES")
    return data


def _note_from_markdown(name: str, data: bytes) -> NoteToImport:
    location = (name,)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidNoteInput("the file is not UTF-8 text", location=location) from None
    text = text.removeprefix("\ufeff")  # what some editors put in front
    if not text.startswith(FRONT_MATTER) or (end := text.find(FRONT_MATTER_END, len(FRONT_MATTER) - 1)) < 0:
        raise InvalidNoteInput("the file must start with YAML front matter between '---' lines", location=location)
    try:
        front = yaml.safe_load(text[len(FRONT_MATTER) : end + 1])
    except yaml.YAMLError as error:
        raise InvalidNoteInput(f"the front matter is not YAML: {error}", location=location) from None
    if not isinstance(front, dict):
        raise InvalidNoteInput("the front matter must be a mapping of id, title, memo_date, tags", location=location)
    if isinstance(front.get("memo_date"), int):  # memo_date: 20261127, unquoted
        front["memo_date"] = str(front["memo_date"])
    try:
        # Through JSON, so the front matter meets exactly the rules of a JSON import (an unquoted
        # timestamp, which YAML reads as a datetime, becomes its ISO 8601 text again).
        as_json = orjson.dumps({**front, "content": text[end + len(FRONT_MATTER_END) :]}, default=str)
        note = ImportedNote.model_validate_json(as_json)
    except orjson.JSONEncodeError:
        raise InvalidNoteInput("the front matter holds values JSON cannot carry", location=location) from None
    except ValidationError as error:
        raise _located(error, location) from None
    return note.to_command(location)


def _located(error: ValidationError, location: tuple[str | int, ...]) -> RequestValidationError:
    """pydantic's errors as the request's, their ``loc`` under ``body`` and ``location``."""
    return RequestValidationError(
        [{**detail, "loc": ("body", *location, *detail["loc"])} for detail in error.errors(include_url=False)]
    )
