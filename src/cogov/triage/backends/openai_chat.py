"""Drafting through an OpenAI-compatible chat-completions endpoint (a local vLLM,
llama.cpp server, Ollama, or a hosted API).

The model writes the reply from the same retrieved passages the template drafter
uses; cogov still adds the AI-drafted label itself (a model cannot be trusted to),
and the passages are listed as evidence. The identity hashes the endpoint, the model
name and the prompt: the ledger then records which remote model drafted a reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import httpx

from cogov.triage.drafting import (
    KnowledgeBase,
    Retriever,
    TemplateDrafter,
    draft_proposal,
)
from cogov.triage.errors import BackendFailed, BackendUnavailable
from cogov.triage.protocol import CaseView, EngineIdentity, Proposal
from cogov.triage.text import case_text

SYSTEM_PROMPT = {
    "en": (
        "You draft replies for a public agency's service desk. Write a short, polite reply "
        "in English to the resident's request. Use only the policy passages given; do not "
        "promise anything they do not say. Do not invent names, dates or phone numbers."
    ),
    "zh": (
        "你为政府服务热线起草答复。请用中文给市民写一段简短、礼貌的答复。只能依据给出的政策"
        "段落，不要承诺段落中没有的内容，不要编造姓名、日期或电话。"
    ),
}


class ChatDrafter:
    """Implements :class:`cogov.triage.protocol.TriageEngine` for ``draft_reply``."""

    version = "1"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        knowledge: KnowledgeBase | None = None,
        retriever: Retriever | None = None,
        timeout_s: float = 30.0,
        max_tokens: int = 400,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_tokens = max_tokens
        self._retrieval = TemplateDrafter(knowledge, retriever=retriever)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout_s, headers=headers)
        material = "\n".join([self.base_url, model, *SYSTEM_PROMPT.values()])
        self._identity = EngineIdentity(
            f"openai-chat:{model}", self.version, hashlib.sha256(material.encode()).hexdigest()
        )

    @property
    def identity(self) -> EngineIdentity:
        return self._identity

    @property
    def threshold(self) -> float:
        return 1.0  # a model-written reply always goes past a person

    def close(self) -> None:
        self._client.close()

    def _messages(
        self, case: CaseView, language: str, passages: Sequence[str]
    ) -> list[dict[str, str]]:
        request = case_text(case.description, case.extra_text, case.extra_text.keys())
        numbered = "\n".join(f"[{k + 1}] {text}" for k, text in enumerate(passages))
        user = (
            f"Request {case.case_id}:\n{request}\n\nPolicy passages:\n{numbered}"
            if language == "en"
            else f"工单 {case.case_id}：\n{request}\n\n政策段落：\n{numbered}"
        )
        return [
            {"role": "system", "content": SYSTEM_PROMPT[language]},
            {"role": "user", "content": user},
        ]

    def draft(self, case: CaseView) -> Proposal:
        language, service, found = self._retrieval.retrieve(case)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(case, language, [r.passage.text for r in found]),
            "max_tokens": self.max_tokens,
            "temperature": 0.2,
        }
        url = f"{self.base_url}/chat/completions"
        try:
            response = self._client.post(url, json=body)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"{url}: cannot reach the chat endpoint ({exc})") from None
        if response.status_code != 200:
            raise BackendFailed(
                f"{url}: HTTP {response.status_code}: {response.text[:200].strip()}"
            )
        try:
            text = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendFailed(f"{url}: not a chat-completions answer") from None
        if not isinstance(text, str) or not text.strip():
            raise BackendFailed(f"{url}: the model returned an empty reply")
        return draft_proposal(text.strip(), found, language=language, used_service=service)

    def propose(self, case: CaseView) -> Sequence[Proposal]:
        return [self.draft(case)]
