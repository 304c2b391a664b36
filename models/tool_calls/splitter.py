"""The streaming state machine that splits generated text into text, reasoning and calls."""

from __future__ import annotations

from dataclasses import replace

from threadloom.models.tool_calls.pieces import Piece, PieceKind
from threadloom.models.tool_calls.syntax import Block, Syntax


class _Channel:
    """Visible text (or reasoning) with the whitespace around markup taken out.

    Whitespace at the start, at the end and next to markup is not shown, so a reply made only
    of calls has empty content. Trailing whitespace is held until text follows it, because only
    then is it known to be inside the text rather than before markup or at the end.
    """

    def __init__(self, kind: PieceKind) -> None:
        self.kind = kind
        self.started = False
        self._fresh = True
        self._held = ""

    def push(self, text: str) -> list[Piece]:
        if self._fresh:
            text = text.lstrip()
            if not text:
                return []
            self._fresh = False
        body = text.rstrip()
        if not body:
            self._held += text
            return []
        out = self._held + body
        self._held = text[len(body) :]
        self.started = True
        return [Piece(self.kind, text=out)]

    def boundary(self) -> None:
        """Markup ended here: whitespace right after it is not shown."""
        self._fresh = True


class Splitter:
    """Runs a :class:`Syntax` over text fed in arbitrary chunks."""

    def __init__(self, syntax: Syntax, *, in_reasoning: bool = False) -> None:
        self._syntax = syntax
        self._buf = ""
        self._block: Block | None = None
        self._reasoning_mode = in_reasoning and syntax.thinking is not None
        self._text = _Channel("text")
        self._reasoning = _Channel("reasoning")
        self._calls = 0
        self._finished = False

    def feed(self, text: str) -> list[Piece]:
        if self._finished:
            raise RuntimeError("this splitter has finished; start a new one for the next reply")
        self._buf += text
        return self._drain(final=False)

    def finish(self) -> list[Piece]:
        if self._finished:
            return []
        pieces = self._drain(final=True)
        self._finished = True
        return pieces

    def _drain(self, *, final: bool) -> list[Piece]:
        out: list[Piece] = []
        while True:
            if self._block is not None:
                if not self._step_block(out, final=final):
                    return out
            elif self._reasoning_mode:
                if not self._step_reasoning(out, final=final):
                    return out
            elif not self._step_text(out, final=final):
                return out

    def _step_block(self, out: list[Piece], *, final: bool) -> bool:
        assert self._block is not None
        end = self._block.find_end(self._buf)
        if end is None and not final:
            return False
        if end is None:
            body, rest, closed = self._buf, "", False
        else:
            body, rest, closed = self._buf[: end[0]], self._buf[end[1] :], True
        pieces = self._block.parse(body, closed)
        self._block, self._buf = None, rest
        for piece in pieces:
            if piece.kind == "text":
                out.extend(self._text.push(piece.text))
            else:
                out.append(replace(piece, index=self._calls))
                self._calls += 1
        if not any(piece.kind == "text" for piece in pieces):
            self._text.boundary()
        return True

    def _step_reasoning(self, out: list[Piece], *, final: bool) -> bool:
        thinking = self._syntax.thinking
        assert thinking is not None
        ends = [thinking.closer] if thinking.closer else []
        openers = [b.opener for b in self._syntax.blocks] if thinking.ends_at_blocks else []
        at, marker = _earliest(self._buf, ends + openers)
        if marker is None:
            hold = 0 if final else _partial_suffix(self._buf, ends + openers)
            out.extend(self._reasoning.push(self._buf[: len(self._buf) - hold]))
            self._buf = self._buf[len(self._buf) - hold :]
            return False
        out.extend(self._reasoning.push(self._buf[:at]))
        self._reasoning_mode = False
        self._text.boundary()
        self._buf = self._buf[at + len(marker) :] if marker in ends else self._buf[at:]
        return True

    def _step_text(self, out: list[Piece], *, final: bool) -> bool:
        found = self._find_opener()
        if found is None:
            hold = 0 if final else self._held_back()
            out.extend(self._text.push(self._buf[: len(self._buf) - hold]))
            self._buf = self._buf[len(self._buf) - hold :]
            return False
        at, opener, block = found
        out.extend(self._text.push(self._buf[:at]))
        skip = at + len(opener)
        if block is None:
            self._reasoning_mode = True
            self._reasoning.boundary()
        else:
            self._block = block
            skip -= block.keeps
        self._buf = self._buf[skip:]
        return True

    def _find_opener(self) -> tuple[int, str, Block | None] | None:
        """The first markup opener in the buffer: a block, or reasoning (block None)."""
        candidates: list[tuple[int, int, str, Block | None]] = []
        for block in self._syntax.blocks:
            at = self._buf.find(block.opener)
            if at >= 0:
                candidates.append((at, -len(block.opener), block.opener, block))
        if self._at_reply_start():
            start = len(self._buf) - len(self._buf.lstrip())
            for block in self._syntax.leading:
                if self._buf.startswith(block.opener, start):
                    candidates.append((start, -len(block.opener), block.opener, block))
        thinking = self._syntax.thinking
        if thinking is not None:
            at = self._buf.find(thinking.opener)
            if at >= 0:
                candidates.append((at, -len(thinking.opener), thinking.opener, None))
        if not candidates:
            return None
        at, _, opener, block = min(candidates, key=lambda c: (c[0], c[1]))
        return at, opener, block

    def _at_reply_start(self) -> bool:
        return not self._text.started

    def _held_back(self) -> int:
        """How many trailing characters might begin an opener and must wait for more text."""
        openers = [block.opener for block in self._syntax.blocks]
        if self._syntax.thinking is not None:
            openers.append(self._syntax.thinking.opener)
        if self._at_reply_start() and not self._buf.strip():
            openers += [block.opener for block in self._syntax.leading]
        return _partial_suffix(self._buf, openers)


def _earliest(text: str, markers: list[str]) -> tuple[int, str | None]:
    best: tuple[int, str | None] = (len(text), None)
    for marker in markers:
        at = text.find(marker)
        if at >= 0 and (at, -len(marker)) < (best[0], -len(best[1] or "")):
            best = (at, marker)
    return best


def _partial_suffix(text: str, markers: list[str]) -> int:
    """Length of the longest end of ``text`` that is a proper beginning of some marker."""
    longest = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if marker.startswith(text[-size:]):
                longest = size
                break
    return longest
