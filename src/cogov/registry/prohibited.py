"""Find prohibited uses described in free text (English and Simplified Chinese).

A keyword list fails both ways: "rate the road surface condition reported by
citizens" names citizens and a rating verb but rates roads, and "we never score
citizens" names the forbidden act only to exclude it. So this is a small pattern
grammar over each clause:

    act      an evaluating or inferring verb (score, rate, rank, classify, infer,
             predict ...), in the active ("rank residents"), nominal ("the
             ranking of residents", "a trust score for each resident") or passive
             ("residents are ranked") shape;
    object   whom the act is about: the head of the noun phrase after the verb
             must be a person noun (citizens, residents, applicants, callers ...),
             so "rate the road surface reported by citizens" has a road as its
             object, not citizens;
    basis    what it is based on: conduct (behaviour, trustworthiness, social
             credit ...), a protected trait (ethnicity, religion, sexual
             orientation, health ...) or biometric data (face, voice ...);
    outcome  what follows (reward, penalty, benefit, sanction, access ...);
    negation a negating word before the act in the same clause ("we never score",
             "does not infer", "绝不", "不会") cancels the clause.

Rules: social scoring = act + person object + conduct basis + (outcome, or a
trust/credit basis); protected-trait inference = inferring act + a protected
trait of a person; biometric categorisation = categorising act + person object
+ biometric basis; manipulation = a manipulating act aimed at persons. Chinese
text has no spaces, so the Chinese rules look for the same parts within a clause,
with negation only counting before the act.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ProhibitedUse(StrEnum):
    SOCIAL_SCORING = "social_scoring"
    PROTECTED_TRAIT_INFERENCE = "protected_trait_inference"
    BIOMETRIC_CATEGORISATION = "biometric_categorisation"
    MANIPULATION = "manipulation"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    ProhibitedUse.SOCIAL_SCORING: "scoring people on their social behaviour or "
    "trustworthiness for rewards, penalties or access to services",
    ProhibitedUse.PROTECTED_TRAIT_INFERENCE: "inferring protected traits such as ethnicity, "
    "religion, sexual orientation or health",
    ProhibitedUse.BIOMETRIC_CATEGORISATION: "sorting people into groups from biometric data",
    ProhibitedUse.MANIPULATION: "changing what people do by manipulation or by exploiting "
    "a vulnerability",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One prohibited use found, where, and the words that show it."""

    use: ProhibitedUse
    source: str  # "purpose", or the questionnaire answer's path
    evidence: str  # the clause or question that shows it
    language: str  # "en" or "zh"

    @property
    def reason(self) -> str:
        return f"{self.source} describes {self.use.description} (prohibited): {self.evidence!r}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "use": self.use.value,
            "source": self.source,
            "evidence": self.evidence,
            "language": self.language,
        }


def _forms(*bases: str) -> frozenset[str]:
    """A verb's inflections: score -> score, scores, scored, scoring."""
    words: set[str] = set()
    for base in bases:
        stem = base[:-1] if base.endswith("e") else base
        words |= {base, base + "s", stem + "ed", stem + "ing"}
        if base.endswith("y"):
            words |= {base[:-1] + "ies", base[:-1] + "ied"}
        if re.search(r"[^aeiou][aeiou][bdgmnprt]$", base):  # rank -> no; tag -> tagged
            words |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    return frozenset(words)


# --- English vocabulary -------------------------------------------------------------
EVALUATE = _forms("score", "rate", "rank", "grade", "evaluate", "assess", "rate", "blacklist")
INFER = _forms(
    "infer", "predict", "deduce", "guess", "estimate", "determine", "detect", "identify",
    "profile", "reveal", "work out",
)  # fmt: skip
CATEGORISE = _forms(
    "classify", "categorise", "categorize", "sort", "group", "segment", "label", "tag", "cluster"
)
MANIPULATE = _forms(
    "manipulate", "exploit", "deceive", "coerce", "pressure", "trick", "dissuade", "discourage"
)
NOMINAL_ACTS = frozenset(
    {
        "score", "scores", "scoring", "rating", "ratings", "ranking", "rankings", "grading",
        "evaluation", "assessment", "classification", "categorisation", "categorization",
        "inference", "prediction", "profiling", "profile", "profiles", "segmentation",
    }
)  # fmt: skip
SCORE_NOUNS = frozenset({"score", "scores", "rating", "ratings", "ranking", "rankings"})
PEOPLE = frozenset(
    {
        "citizen", "citizens", "resident", "residents", "people", "person", "persons",
        "individual", "individuals", "applicant", "applicants", "caller", "callers",
        "requester", "requesters", "inhabitant", "inhabitants", "household", "households",
        "tenant", "tenants", "claimant", "claimants", "complainant", "complainants",
        "recipient", "recipients", "user", "users", "taxpayer", "taxpayers", "voter", "voters",
        "migrant", "migrants", "family", "families", "neighbour", "neighbours", "neighbor",
        "neighbors", "everyone", "somebody", "someone", "them", "him", "her",
        "customers", "customer", "members", "employees", "workers", "students", "patients",
    }
)  # fmt: skip
POSSESSIVES = frozenset({"their", "his", "her", "whose"})
# Words that may stand before the head of the object's noun phrase.
NP_SKIP = frozenset(
    {
        "the", "a", "an", "all", "each", "every", "any", "our", "their", "its", "his", "her",
        "these", "those", "such", "many", "some", "other", "local", "elderly", "young", "old",
        "poor", "low", "income", "vulnerable", "registered", "ordinary", "individual",
        "private", "foreign", "new", "existing", "potential", "city", "urban", "rural",
        "which", "whether", "how", "of", "likely", "possible", "future", "certain",
    }
)  # fmt: skip
CONDUCT = frozenset(
    {
        "behaviour", "behaviours", "behavior", "behaviors", "behavioural", "behavioral",
        "conduct", "social", "trustworthiness", "trustworthy", "trust", "reliability",
        "obedience", "compliance", "loyalty", "lifestyle", "lifestyles", "habits", "activity",
        "activities", "online", "posts", "reputation", "civility", "morality",
        "moral", "attitude", "attitudes", "character", "honesty", "integrity", "civic",
    }
)  # fmt: skip
# "credit" alone is creditworthiness; "social" covers "social credit".
TRUST_BASIS = frozenset({"trustworthiness", "trustworthy", "trust", "social", "loyalty"})
TRAITS = frozenset(
    {
        "ethnicity", "ethnic", "race", "racial", "religion", "religious", "faith", "sexuality",
        "orientation", "gay", "lesbian", "lgbt", "lgbtq", "health", "medical", "illness",
        "disability", "disabilities", "disabled", "pregnancy", "pregnant", "political",
        "politics", "union", "caste", "genetic", "gender", "nationality", "immigration",
        "beliefs", "belief",
    }
)  # fmt: skip
BIOMETRIC = frozenset(
    {
        "face", "faces", "facial", "voice", "voices", "voiceprint", "voiceprints",
        "fingerprint", "fingerprints", "gait", "iris", "biometric", "biometrics", "retina",
    }
)  # fmt: skip
OUTCOME = frozenset(
    {
        "reward", "rewards", "rewarded", "rewarding", "penalty", "penalties", "penalise",
        "penalize", "penalised", "penalized", "punish", "punished", "punishment",
        "punishments", "sanction", "sanctions", "sanctioned", "benefit", "benefits",
        "access", "privilege", "privileges", "blacklist", "blacklisted", "eligibility",
        "eligible", "restrict", "restricted", "restriction", "restrictions", "deny",
        "denied", "denial", "perks", "discount", "discounts", "subsidy", "subsidies",
        "loans", "loan", "treatment", "fines", "fined", "priority", "prioritise",
        "prioritize", "deprioritise", "deprioritize", "bonus", "bonuses", "incentives",
    }
)  # fmt: skip
NEGATORS = frozenset(
    {
        "not", "never", "no", "nor", "neither", "without", "none", "cannot", "refrain",
        "refrains", "prohibited", "forbidden", "nobody", "t", "avoid", "avoids", "excluded",
    }
)  # fmt: skip
BE = frozenset({"are", "is", "be", "been", "being", "get", "gets", "got", "was", "were"})
AUXILIARIES = frozenset(
    {"will", "would", "shall", "should", "can", "could", "may", "might", "must", "also",
     "then", "not", "never", "to", "automatically", "publicly"}
)  # fmt: skip
_CLAUSE_SPLIT_EN = re.compile(r"[.;!?\n]+|\b(?:but|however|whereas|although|though|yet)\b")
_WORD = re.compile(r"[a-z]+")


def _negated(tokens: list[str], act: _Act) -> bool:
    """A negating word in the six words before the act (or before its subject, in the
    passive), or between a passive subject and its verb."""
    start = max(0, min(act.at, act.head_at) - 6)
    return any(token in NEGATORS for token in tokens[start : act.at])


def _object_head(tokens: list[str], start: int) -> tuple[str | None, int]:
    """The head of the noun phrase starting at ``start`` and its position."""
    for index in range(start, min(len(tokens), start + 6)):
        if tokens[index] not in NP_SKIP:
            return tokens[index], index
    return None, start


@dataclass(frozen=True, slots=True)
class _Act:
    verb: str
    at: int  # position of the verb (for negation)
    head: str | None  # head of what the act is about
    head_at: int


def _acts(tokens: list[str], verbs: frozenset[str]) -> list[_Act]:
    """Every use of a verb in ``verbs`` with what it is about (active, nominal, passive)."""
    acts = []
    for index, token in enumerate(tokens):
        nominal = token in NOMINAL_ACTS
        if token not in verbs and not nominal:
            continue
        if nominal and token not in verbs and not _nominal_matches(token, verbs):
            continue
        # passive: "<people> are / will be / may not be ... scored"
        if index >= 2 and tokens[index - 1] in BE:
            j = index - 2
            while j > 0 and tokens[j] in BE | AUXILIARIES:
                j -= 1
            if tokens[j] in PEOPLE:
                acts.append(_Act(token, index, tokens[j], j))
                continue
        start = index + 1
        # nominal: "the ranking of residents", "a trust score for each resident"
        if start < len(tokens) and tokens[start] in {"of", "for", "to", "on"}:
            start += 1
        # "give residents a (social credit) score", "residents' trust scores"
        if token in SCORE_NOUNS:
            person = next(
                (
                    i
                    for i in range(index - 1, max(-1, index - 5), -1)
                    if tokens[i] in PEOPLE or tokens[i] in POSSESSIVES
                ),
                None,
            )
            if person is not None:
                # "their social credit score": a possessive stands for the person
                owner = tokens[person] if tokens[person] in PEOPLE else "people"
                acts.append(_Act(token, index, owner, person))
        head, head_at = _object_head(tokens, start)
        acts.append(_Act(token, index, head, head_at))
    return acts


def _nominal_matches(noun: str, verbs: frozenset[str]) -> bool:
    """Whether a nominal act ("ranking", "inference") belongs to the verb family."""
    families = {
        "score": EVALUATE, "scores": EVALUATE, "scoring": EVALUATE, "rating": EVALUATE,
        "ratings": EVALUATE, "ranking": EVALUATE, "rankings": EVALUATE, "grading": EVALUATE,
        "evaluation": EVALUATE, "assessment": EVALUATE, "classification": CATEGORISE,
        "categorisation": CATEGORISE, "categorization": CATEGORISE, "segmentation": CATEGORISE,
        "inference": INFER, "prediction": INFER, "profiling": INFER, "profile": INFER,
        "profiles": INFER,
    }  # fmt: skip
    return families.get(noun) is verbs


def _person_in(tokens: list[str]) -> bool:
    return any(t in PEOPLE or t in POSSESSIVES for t in tokens)


# Traits that are always a person's, whoever they belong to in the sentence.
PERSONAL_TRAITS = frozenset({"ethnicity", "race", "sexuality", "orientation"})


def _trait_of_person(tokens: list[str], at: int) -> bool:
    """Whether the trait at ``at`` is a person's: "their religion", "callers' health",
    "the ethnicity of callers" (not "health hazards" or "religious buildings")."""
    if tokens[at] in PERSONAL_TRAITS:
        return True
    before = tokens[max(0, at - 2) : at]
    after = tokens[at + 1 : at + 5]
    if any(t in PEOPLE or t in POSSESSIVES for t in before):
        return True
    return bool(after) and after[0] == "of" and any(t in PEOPLE for t in after[1:])


def _english_clause(clause: str) -> set[ProhibitedUse]:
    tokens = _WORD.findall(clause.lower().replace("work out", "workout"))
    found: set[ProhibitedUse] = set()
    words = set(tokens)
    conduct = words & CONDUCT
    traits = words & TRAITS
    if "orientation" in traits and "sexual" not in words:
        traits.discard("orientation")
    if "union" in traits and "trade" not in words:
        traits.discard("union")
    biometric = words & BIOMETRIC
    outcome = words & OUTCOME

    for act in _acts(tokens, EVALUATE):
        if _negated(tokens, act):
            continue
        if act.head in PEOPLE and conduct and (outcome or conduct & TRUST_BASIS):
            found.add(ProhibitedUse.SOCIAL_SCORING)
        if act.head in PEOPLE and traits and tokens.index(sorted(traits)[0]) > act.head_at:
            # "rank applicants by religion": a protected trait as the basis of a score
            found.add(ProhibitedUse.PROTECTED_TRAIT_INFERENCE)
    for verbs in (INFER, CATEGORISE):
        for act in _acts(tokens, verbs):
            if _negated(tokens, act):
                continue
            after = tokens[act.head_at :]
            if act.head in TRAITS and _trait_of_person(tokens, act.head_at):
                found.add(ProhibitedUse.PROTECTED_TRAIT_INFERENCE)
            if act.head in PEOPLE and (set(after) & traits):
                found.add(ProhibitedUse.PROTECTED_TRAIT_INFERENCE)
            if (act.head in PEOPLE or act.head in TRAITS) and (set(after) & biometric):
                found.add(ProhibitedUse.BIOMETRIC_CATEGORISATION)
            if act.head in BIOMETRIC and _person_in(tokens) and verbs is CATEGORISE:
                found.add(ProhibitedUse.BIOMETRIC_CATEGORISATION)
    for act in _acts(tokens, MANIPULATE):
        if _negated(tokens, act):
            continue
        if act.head in PEOPLE or (act.head or "").startswith("vulnerab"):
            found.add(ProhibitedUse.MANIPULATION)
    at = tokens.index("subliminal") if "subliminal" in words else 0
    if "subliminal" in words and not any(t in NEGATORS for t in tokens[max(0, at - 6) : at]):
        found.add(ProhibitedUse.MANIPULATION)
    return found


# --- Simplified Chinese ---------------------------------------------------------------
def _alternation(*words: str) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


ZH_EVALUATE = _alternation("评分", "打分", "评级", "排名", "评价", "评估", "评定", "积分", "计分")
ZH_INFER = _alternation("推断", "推测", "预测", "识别", "判断", "判定", "分析出", "猜测")
ZH_CATEGORISE = _alternation("分类", "归类", "划分", "分组", "打标签", "贴标签")
ZH_MANIPULATE = _alternation("操纵", "诱导", "欺骗", "误导", "胁迫", "劝阻", "施压")
ZH_PEOPLE = _alternation(
    "市民", "居民", "公民", "群众", "民众", "百姓", "个人", "人员", "申请人", "来电人",
    "诉求人", "投诉人", "人群", "用户", "住户", "租户", "老人", "他们", "其",
)  # fmt: skip
ZH_CONDUCT = _alternation(
    "行为", "表现", "信用", "诚信", "品行", "守信", "失信", "言论", "社交", "态度", "文明",
)  # fmt: skip
ZH_TRUST = _alternation("信用", "诚信", "守信", "失信")
ZH_SOCIAL_SCORE = _alternation(
    "社会信用分", "社会信用评分", "信用积分", "诚信分", "文明积分", "社会评分"
)
ZH_OUTCOME = _alternation(
    "奖励", "惩罚", "奖惩", "处罚", "惩戒", "福利", "优待", "限制", "黑名单", "红名单",
    "待遇", "资格", "优先", "补贴", "扣分", "加分", "享受", "能否", "准入",
)  # fmt: skip
ZH_TRAITS = _alternation(
    "民族", "种族", "宗教", "信仰", "性取向", "健康状况", "疾病", "病史", "政治倾向",
    "政治观点", "残疾", "性别认同", "基因",
)  # fmt: skip
ZH_BIOMETRIC = _alternation("人脸", "面部", "声纹", "指纹", "步态", "虹膜", "生物特征")
# Negation words; a bare 不 counts only where it negates a verb (不会, 不对 ...),
# so 不文明行为 ("uncivil behaviour") is not read as a negation.
ZH_NEGATION = re.compile(
    r"从不|绝不|决不|从未|并不|禁止|严禁|不得|没有|无需|不[会对将能做进用向使采依根按]"
)
_CLAUSE_SPLIT_ZH = re.compile(r"[。；！？\n;!?]+|但是|但|然而|而是")


def _zh_act(clause: str, verbs: str) -> int | None:
    """Position of the first act in ``verbs`` not negated before it, or None."""
    for match in re.finditer(verbs, clause):
        before = clause[max(0, match.start() - 12) : match.start()]
        if not ZH_NEGATION.search(before):
            return match.start()
    return None


def _chinese_clause(clause: str) -> set[ProhibitedUse]:
    found: set[ProhibitedUse] = set()
    people = re.search(ZH_PEOPLE, clause)
    if people is None:
        return found
    # "对市民上报的路面状况进行评分": the conduct must be the person's (市民的行为,
    # 市民...信用), not something the person reported.
    reported = re.search(r"(" + ZH_PEOPLE + r")(上报|反映|报告|提交|投诉)的", clause)
    conduct = re.search(ZH_CONDUCT, clause) and not (reported and not re.search(ZH_TRUST, clause))
    outcome = re.search(ZH_OUTCOME, clause) or re.search(ZH_TRUST, clause)
    if _zh_act(clause, ZH_EVALUATE) is not None and conduct and outcome:
        found.add(ProhibitedUse.SOCIAL_SCORING)
    # "根据居民的社会信用分决定其能否享受公共服务": a score of persons used for an outcome
    if _zh_act(clause, ZH_SOCIAL_SCORE) is not None and re.search(ZH_OUTCOME, clause):
        found.add(ProhibitedUse.SOCIAL_SCORING)
    traits = re.search(ZH_TRAITS, clause)
    biometric = re.search(ZH_BIOMETRIC, clause)
    if traits and (
        _zh_act(clause, ZH_INFER) is not None
        or _zh_act(clause, ZH_CATEGORISE) is not None
        or _zh_act(clause, ZH_EVALUATE) is not None
    ):
        found.add(ProhibitedUse.PROTECTED_TRAIT_INFERENCE)
    if biometric and _zh_act(clause, ZH_CATEGORISE) is not None:
        found.add(ProhibitedUse.BIOMETRIC_CATEGORISATION)
    if _zh_act(clause, ZH_MANIPULATE) is not None:
        found.add(ProhibitedUse.MANIPULATION)
    return found


_HAN = re.compile(r"[\u4e00-\u9fff]")


def detect_prohibited(text: str, *, source: str = "purpose") -> tuple[Finding, ...]:
    """Prohibited uses ``text`` describes, one finding per use (first clause that shows it)."""
    findings: dict[ProhibitedUse, Finding] = {}
    for chinese in (False, True):
        splitter = _CLAUSE_SPLIT_ZH if chinese else _CLAUSE_SPLIT_EN
        for clause in splitter.split(text):
            clause = clause.strip(" ,，、:：")
            if not clause or (chinese and not _HAN.search(clause)):
                continue
            uses = _chinese_clause(clause) if chinese else _english_clause(clause)
            for use in sorted(uses):
                findings.setdefault(use, Finding(use, source, clause, "zh" if chinese else "en"))
    return tuple(findings[use] for use in sorted(findings))
