from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cogov.triage import ActionKind, CaseView, EvidenceKind, TriageEngine
from cogov.triage.backends.openai_chat import ChatDrafter
from cogov.triage.drafting import AI_LABELS, KnowledgeBase, TemplateDrafter, ai_label
from cogov.triage.errors import BackendFailed, BackendUnavailable, TriageInputError


@pytest.fixture(scope="module")
def drafter() -> TemplateDrafter:
    return TemplateDrafter()


class TestKnowledgeBase:
    def test_ships_bilingual_example_pages(self) -> None:
        knowledge = KnowledgeBase.load()
        assert len(knowledge.services) >= 5
        for code in knowledge.services:
            languages = {p.language for p in knowledge.passages if p.service == code}
            assert languages == {"en", "zh"}, code
        assert all(p.example for p in knowledge.passages)

    def test_an_agency_can_bring_its_own_pages(self, tmp_path: Path) -> None:
        (tmp_path / "parking.md").write_text(
            "---\nservice: parking\ntitle_en: Parking\ntitle_zh: 停车\naliases: [car]\n---\n"
            "## [en] Blocked driveways\nA car blocking a driveway is towed within 2 hours.\n"
            "## [zh] 堵塞出入口\n堵塞出入口的车辆在2小时内拖离。\n",
            encoding="utf-8",
        )
        knowledge = KnowledgeBase.load(tmp_path)
        assert set(knowledge.services) == {"parking"}
        drafted = TemplateDrafter(knowledge).draft(
            CaseView(case_id="P1", description="A car is blocking my driveway")
        )
        assert "towed within 2 hours" in drafted.value

    def test_bad_pages_are_refused_by_name(self, tmp_path: Path) -> None:
        (tmp_path / "bad.md").write_text("---\ntitle_en: x\n---\n## [en] a\nb\n", encoding="utf-8")
        with pytest.raises(TriageInputError, match=r"bad\.md"):
            KnowledgeBase.load(tmp_path)


class TestTemplateDrafter:
    def test_english_draft_uses_a_passage_and_carries_the_label(
        self, drafter: TemplateDrafter
    ) -> None:
        case = CaseView(
            case_id="NY-7",
            description="Street light out on my block, it has been dark for days",
            address_key="12 Elm St",
        )
        proposal = drafter.draft(case, department="DOT")
        assert proposal.action is ActionKind.DRAFT_REPLY
        assert proposal.ai_drafted is True
        assert AI_LABELS["en"] in proposal.value
        assert "NY-7" in proposal.value
        assert "12 Elm St" in proposal.value
        assert "passed to DOT" in proposal.value
        passages = [e for e in proposal.explanation.evidence if e.kind is EvidenceKind.PASSAGE]
        assert passages
        assert passages[0].label.startswith("streetlight.md")
        assert passages[0].data["source"] == "streetlight.md"
        assert passages[0].data["example"] is True
        assert "inspected within 3 working days" in proposal.value  # the passage's words

    def test_chinese_case_gets_a_chinese_draft_and_label(self, drafter: TemplateDrafter) -> None:
        case = CaseView(case_id="ZH-9", description="家里停水了，自来水还发黄")
        proposal = drafter.draft(case, department="水务局")
        assert AI_LABELS["zh"] in proposal.value
        assert AI_LABELS["en"] not in proposal.value
        assert "已转交水务局办理" in proposal.value
        assert any(e.label.startswith("water.md") for e in proposal.explanation.evidence)
        assert "1个工作日内上门取样检测" in proposal.value

    def test_case_language_wins_over_detection(self, drafter: TemplateDrafter) -> None:
        case = CaseView(case_id="X", description="pothole 坑", language="zh")
        assert AI_LABELS["zh"] in drafter.draft(case).value

    def test_is_an_engine_that_never_sends_on_its_own(self, drafter: TemplateDrafter) -> None:
        assert isinstance(drafter, TriageEngine)
        assert drafter.threshold == 1.0
        (proposal,) = drafter.propose(CaseView(case_id="1", description="noise from a bar"))
        assert proposal.confidence < drafter.threshold
        # Who checks a draft is cogov.control's to say, not the drafter's summary.
        assert "person" not in proposal.explanation.summary

    def test_label_falls_back_to_english(self) -> None:
        assert ai_label("fr") == AI_LABELS["en"]
        assert ai_label("zh-CN") == AI_LABELS["zh"]


class _ChatHandler(BaseHTTPRequestHandler):
    """A real HTTP server speaking the OpenAI chat-completions wire format."""

    received: ClassVar[list[dict[str, Any]]] = []
    reply: ClassVar[str] = "Thank you. A crew will inspect the light within 3 working days."
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        type(self).received.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if self.status != 200:
            payload = json.dumps({"error": {"message": "overloaded"}}).encode()
        else:
            payload = json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.reply},
                            "finish_reason": "stop",
                        }
                    ],
                }
            ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def chat_server() -> Iterator[str]:
    _ChatHandler.received.clear()
    _ChatHandler.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class TestChatDrafter:
    def test_sends_the_case_and_passages_and_labels_the_reply(self, chat_server: str) -> None:
        drafter = ChatDrafter(chat_server, "small-model", api_key="k-123")
        try:
            proposal = drafter.draft(CaseView(case_id="C1", description="street light is out"))
        finally:
            drafter.close()
        (request,) = _ChatHandler.received
        assert request["path"] == "/v1/chat/completions"
        assert request["auth"] == "Bearer k-123"
        messages = request["body"]["messages"]
        assert messages[0]["role"] == "system"
        assert "street light is out" in messages[1]["content"]
        assert "3 working days" in messages[1]["content"]  # the retrieved passage went along
        assert proposal.value.startswith(_ChatHandler.reply)
        assert AI_LABELS["en"] in proposal.value
        assert proposal.ai_drafted is True
        assert drafter.identity.name == "openai-chat:small-model"

    def test_http_error_is_a_backend_failure(self, chat_server: str) -> None:
        _ChatHandler.status = 503
        drafter = ChatDrafter(chat_server, "m")
        with pytest.raises(BackendFailed, match="HTTP 503"):
            drafter.draft(CaseView(case_id="C2", description="pothole"))

    def test_unreachable_endpoint(self) -> None:
        drafter = ChatDrafter("http://127.0.0.1:9/v1", "m", timeout_s=2)
        with pytest.raises(BackendUnavailable, match="cannot reach"):
            drafter.draft(CaseView(case_id="C3", description="pothole"))
