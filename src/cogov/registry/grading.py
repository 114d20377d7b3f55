"""The impact-assessment questionnaire and its scoring (pure: plain values in and out).

Scored like Canada's Algorithmic Impact Assessment: raw impact = sum of the chosen
risk answers' points; when the mitigation score reaches a set share (80%) of its
maximum, a set share (15%) of the raw score is deducted (rounded, as the AIA's
tool does); the current score as a share of the maximum raw score gives grade
I (<= 25%), II (<= 50%), III (<= 75%) or IV. Prohibited uses, declared in the
answers or found in the purpose text, override the score: such a filing may be
filed but never approved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cogov.core.types import Grade
from cogov.registry.prohibited import Finding, ProhibitedUse, detect_prohibited


class QuestionKind(StrEnum):
    RISK = "risk"
    MITIGATION = "mitigation"
    PROHIBITED_USE = "prohibited_use"


@dataclass(frozen=True, slots=True)
class Answer:
    id: str
    points: int
    text: Mapping[str, str]  # language -> text ("en", "zh")
    prohibited: ProhibitedUse | None = None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: QuestionKind
    many: bool  # several answers whose points add up
    text: Mapping[str, str]
    answers: tuple[Answer, ...]

    def answer(self, answer_id: str) -> Answer | None:
        return next((a for a in self.answers if a.id == answer_id), None)

    @property
    def max_points(self) -> int:
        points = [a.points for a in self.answers]
        return sum(points) if self.many else max(points)


@dataclass(frozen=True, slots=True)
class Questionnaire:
    version: int
    questions: tuple[Question, ...]
    mitigation_share_for_deduction: float
    deduction: float
    thresholds: tuple[float, float, float]  # upper bounds of I, II, III

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def max_points(self, kind: QuestionKind) -> int:
        return sum(q.max_points for q in self.questions if q.kind is kind)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The questionnaire's verdict on one set of answers."""

    questionnaire_version: int
    raw_score: int
    max_raw_score: int
    mitigation_score: int
    max_mitigation_score: int
    mitigation_deducted: bool
    current_score: int
    grade: Grade
    prohibited: tuple[Finding, ...]

    @property
    def share(self) -> float:
        """The current score as a share of the maximum raw score (what sets the grade)."""
        return self.current_score / self.max_raw_score if self.max_raw_score else 0.0

    @property
    def is_prohibited(self) -> bool:
        return bool(self.prohibited)

    def as_dict(self) -> dict[str, Any]:
        return {
            "questionnaire_version": self.questionnaire_version,
            "raw_score": self.raw_score,
            "max_raw_score": self.max_raw_score,
            "mitigation_score": self.mitigation_score,
            "max_mitigation_score": self.max_mitigation_score,
            "mitigation_deducted": self.mitigation_deducted,
            "current_score": self.current_score,
            "share": round(self.share, 4),
            "grade": self.grade.value,
            "prohibited": [finding.as_dict() for finding in self.prohibited],
        }


class AnswersInvalid(ValueError):
    """Answers that do not fit the questionnaire; ``problems`` lists (field, reason)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = list(problems)


def _parse_questionnaire(data: Mapping[str, Any]) -> Questionnaire:
    questions = []
    for item in data["questions"]:
        answers = tuple(
            Answer(
                id=str(a["id"]),
                points=int(a["points"]),
                text=dict(a["text"]),
                prohibited=ProhibitedUse(a["prohibited"]) if a.get("prohibited") else None,
            )
            for a in item["answers"]
        )
        questions.append(
            Question(
                id=item["id"],
                kind=QuestionKind(item["kind"]),
                many=item["choice"] == "many",
                text=dict(item["text"]),
                answers=answers,
            )
        )
    scoring = data["scoring"]
    thresholds = scoring["grade_thresholds"]
    return Questionnaire(
        version=int(data["version"]),
        questions=tuple(questions),
        mitigation_share_for_deduction=float(scoring["mitigation_share_for_deduction"]),
        deduction=float(scoring["deduction"]),
        thresholds=(float(thresholds["I"]), float(thresholds["II"]), float(thresholds["III"])),
    )


@cache
def load_questionnaire() -> Questionnaire:
    """The questionnaire shipped in the package (cogov/registry/data/questionnaire.yaml)."""
    text = resources.files("cogov.registry").joinpath("data/questionnaire.yaml").read_text("utf-8")
    return _parse_questionnaire(yaml.safe_load(text))


def grade_for_share(share: float, thresholds: tuple[float, float, float]) -> Grade:
    """Grade from the current score's share of the maximum (bounds inclusive, as the AIA)."""
    first, second, third = thresholds
    if share <= first:
        return Grade.I
    if share <= second:
        return Grade.II
    if share <= third:
        return Grade.III
    return Grade.IV


def _chosen(question: Question, value: object, problems: list[tuple[str, str]]) -> list[Answer]:
    where = f"impact_assessment.answers.{question.id}"
    allowed = ", ".join(a.id for a in question.answers)
    if question.many:
        if not isinstance(value, list | tuple):
            problems.append((where, f"must be a list of answers from: {allowed}"))
            return []
        values = list(value)
    else:
        if not isinstance(value, str):
            problems.append((where, f"must be one answer from: {allowed}"))
            return []
        values = [value]
    chosen = []
    for index, answer_id in enumerate(values):
        answer = question.answer(str(answer_id))
        if answer is None:
            at = f"{where}[{index}]" if question.many else where
            problems.append((at, f"{answer_id!r} is not one of: {allowed}"))
        else:
            chosen.append(answer)
    return chosen


def assess(
    answers: Mapping[str, object],
    *,
    purpose: str = "",
    questionnaire: Questionnaire | None = None,
) -> Assessment:
    """Score ``answers`` (question id -> answer id, or a list for many-answer
    questions) and look for prohibited uses in the answers and in ``purpose``.

    Raises AnswersInvalid naming each missing, unknown or malformed answer."""
    form = questionnaire or load_questionnaire()
    problems: list[tuple[str, str]] = []
    for question_id in answers:
        if form.question(question_id) is None:
            problems.append(
                (f"impact_assessment.answers.{question_id}", "not a question of the questionnaire")
            )
    raw = mitigation = 0
    findings: list[Finding] = []
    for question in form.questions:
        if question.id not in answers:
            problems.append((f"impact_assessment.answers.{question.id}", "required"))
            continue
        for answer in _chosen(question, answers[question.id], problems):
            if question.kind is QuestionKind.RISK:
                raw += answer.points
            elif question.kind is QuestionKind.MITIGATION:
                mitigation += answer.points
            if answer.prohibited is not None:
                findings.append(
                    Finding(
                        use=answer.prohibited,
                        source=f"impact_assessment.answers.{question.id}",
                        evidence=question.text["en"],
                        language="en",
                    )
                )
    if problems:
        raise AnswersInvalid(problems)
    max_raw = form.max_points(QuestionKind.RISK)
    max_mitigation = form.max_points(QuestionKind.MITIGATION)
    deducted = max_mitigation > 0 and mitigation >= (
        form.mitigation_share_for_deduction * max_mitigation
    )
    # round-half-up, as JavaScript's Math.round in the AIA tool
    current = int((1 - form.deduction) * raw + 0.5) if deducted else raw
    share = current / max_raw if max_raw else 0.0
    found_uses = {finding.use for finding in findings}
    findings.extend(
        f for f in detect_prohibited(purpose, source="purpose") if f.use not in found_uses
    )
    return Assessment(
        questionnaire_version=form.version,
        raw_score=raw,
        max_raw_score=max_raw,
        mitigation_score=mitigation,
        max_mitigation_score=max_mitigation,
        mitigation_deducted=deducted,
        current_score=current,
        grade=grade_for_share(share, form.thresholds),
        prohibited=tuple(findings),
    )
