"""Turn a question typed by a person into concepts the index can search safely.

A concept is one idea of the question with its alternatives ("db" -> database, postgres, ...).
Every alternative is emitted as a quoted FTS5 phrase built only from word characters, so no user
input (quotes, parentheses, `NEAR`, `*`, `-`, column filters) can reach FTS5's query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_SYNONYMS_FILE = Path(__file__).resolve().parent / "synonyms.yaml"
MAX_CONCEPTS = 24
MAX_PHRASES = 300
"""A pasted stack trace should not turn into a 1,000-phrase query: latency stays bounded, and
SQLite's limit of 500 terms in a compound SELECT (one per phrase) is never reached."""

_TOKEN = re.compile(r"[^\W_]+(?:['’_.\-][^\W_]+)*")
_CAMEL_HUMP = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_CAMEL_CASE = re.compile(r"[A-Za-z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")


@dataclass(frozen=True, slots=True)
class Concept:
    label: str
    """The words as asked (for diagnostics)."""
    phrases: tuple[str, ...]
    """Alternatives, each a space-separated sequence of tokens."""

    def fts_expression(self) -> str:
        return " OR ".join(fts_phrase(phrase) for phrase in self.phrases)


@dataclass(frozen=True, slots=True)
class AnalyzedQuery:
    text: str
    concepts: tuple[Concept, ...]
    identifiers: tuple[str, ...]
    """Tokens as typed that may name an alert ("HighErrorRate", "kubepodcrashlooping")."""

    def fts_expression(self) -> str:
        return " OR ".join(concept.fts_expression() for concept in self.concepts)


class Vocabulary:
    """Synonym groups and stop words, from `synonyms.yaml`."""

    def __init__(self, groups: Iterable[Iterable[str]], stop_words: Iterable[str]) -> None:
        self.stop_words = frozenset(word.lower() for word in stop_words)
        self._groups: list[tuple[str, ...]] = []
        self._phrase_to_group: dict[tuple[str, ...], int] = {}
        for members in groups:
            phrases = tuple(dict.fromkeys(" ".join(tokenize(str(member))) for member in members))
            phrases = tuple(phrase for phrase in phrases if phrase)
            index = len(self._groups)
            self._groups.append(phrases)
            for phrase in phrases:
                self._phrase_to_group.setdefault(tuple(phrase.split(" ")), index)
        self.longest_phrase = max((len(key) for key in self._phrase_to_group), default=1)

    @classmethod
    def from_file(cls, path: Path = DEFAULT_SYNONYMS_FILE) -> Vocabulary:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stop_words = data.get("stop_words") or ""
        if isinstance(stop_words, str):
            stop_words = stop_words.split()
        return cls(data.get("groups") or [], stop_words)

    def all_phrases(self) -> set[str]:
        return {phrase for members in self._groups for phrase in members}

    def without_duplicates(self, same: dict[str, object]) -> Vocabulary:
        """A copy whose groups keep one phrase per distinct `same[phrase]` (e.g. the stemmed form).

        Detection is unchanged ("timeouts" still finds the group); only the phrases searched
        shrink, since "timeout" and "timeouts" stem alike and would be scored twice."""
        copy = object.__new__(Vocabulary)
        copy.stop_words = self.stop_words
        copy._phrase_to_group = self._phrase_to_group
        copy.longest_phrase = self.longest_phrase
        copy._groups = [
            tuple({same.get(phrase, phrase): phrase for phrase in reversed(members)}.values())[::-1]
            for members in self._groups
        ]
        return copy

    def group_of(self, tokens: tuple[str, ...]) -> int | None:
        return self._phrase_to_group.get(tokens)

    def members(self, group: int) -> tuple[str, ...]:
        return self._groups[group]


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens; hyphenated and dotted words stay whole ("kube-proxy")."""
    return [_strip_contraction(token.lower()) for token in _TOKEN.findall(_normalize(text))]


def analyze(text: str, vocabulary: Vocabulary) -> AnalyzedQuery:
    raw_tokens = _TOKEN.findall(_normalize(text))[: MAX_CONCEPTS * 4]
    identifiers = tuple(token for token in raw_tokens if token.isascii() and token[:1].isalpha())
    words: list[str] = []
    for token in raw_tokens:
        if _CAMEL_CASE.fullmatch(token):
            words.extend(hump.lower() for hump in _CAMEL_HUMP.findall(token))
        else:
            words.append(_strip_contraction(token.lower()))

    concepts: list[Concept] = []
    seen: set[object] = set()
    phrases = 0
    position = 0
    while position < len(words) and len(concepts) < MAX_CONCEPTS:
        matched = _match_group(words, position, vocabulary)
        if matched is not None:
            group, length = matched
            concept, key = Concept(" ".join(words[position : position + length]), vocabulary.members(group)), group
            position += length
        else:
            word = words[position]
            position += 1
            if word in vocabulary.stop_words or word.isdigit():
                continue
            concept, key = Concept(word, (word,)), word
        if key in seen or phrases + len(concept.phrases) > MAX_PHRASES:
            continue
        seen.add(key)
        phrases += len(concept.phrases)
        concepts.append(concept)
    return AnalyzedQuery(text, tuple(concepts), identifiers)


def fts_phrase(phrase: str) -> str:
    """A quoted FTS5 string; quotes doubled as FTS5 requires (tokens never hold any, but data may)."""
    return '"' + phrase.replace('"', '""') + '"'


def _match_group(words: list[str], position: int, vocabulary: Vocabulary) -> tuple[int, int] | None:
    for length in range(min(vocabulary.longest_phrase, len(words) - position), 0, -1):
        group = vocabulary.group_of(tuple(words[position : position + length]))
        if group is not None:
            return group, length
    return None


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("’", "'")


def _strip_contraction(token: str) -> str:
    """ "can't" -> "can", "user's" -> "user": the suffix carries no topic."""
    return token.split("'", 1)[0] if "'" in token else token
