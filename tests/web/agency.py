"""A small working agency for the web tests: one router agent trained on a
hand-written history, filed, approved by a second administrator and activated with
guardians on duty, deployed in the application so requests walk the governed path.

The filing sets a confidence threshold of 0.99, so every proposal the agent makes
goes to a person: the review journey is then certain, not a matter of luck.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from cogov.control import load_control_config
from cogov.db.session import unit_of_work
from cogov.pipeline import Deployment
from cogov.pipeline.demo import DemoAgent, agent_filing, file_and_activate
from cogov.triage import TrainedEngine, TrainingOptions, train

AGENT_ID = "web-router"
TEAM = "311 Service Centre"
# SOURCE: written for these tests (not real requests).
HISTORY = {
    "Transport": [
        "deep pothole in the road near the school",
        "road surface broken, cars swerving",
        "street light out on the corner for a week",
        "lamp post flickering all night",
        "crack in the asphalt of the bike lane",
        "路面有大坑 车辆绕行",
        "路灯不亮 晚上很黑",
        "traffic sign knocked down",
    ],
    "Environment": [
        "loud music from the bar every night",
        "construction noise before 7am",
        "neighbours party noise very loud",
        "barking dog noise all day",
        "噪音扰民 晚上施工",
        "car alarms going off loud noise",
        "drilling noise on sunday morning",
        "loudspeaker noise in the square",
    ],
    "Sanitation": [
        "rubbish bags dumped on the pavement",
        "mattress left on the street",
        "bins not collected this week",
        "overflowing litter bin in the park",
        "垃圾没人清运 已经一周",
        "illegal dumping of building waste",
        "missed garbage collection again",
        "trash piled behind the shops",
    ],
}


def trained_engine() -> TrainedEngine:
    texts = [text for rows in HISTORY.values() for text in rows for _ in range(3)]
    labels = [label for label, rows in HISTORY.items() for _ in rows for _ in range(3)]
    # A small grid: the history is tiny and the tests should start fast.
    options = TrainingOptions(c_grid=(1.0,), class_weights=("none",), folds=2)
    return train(texts, labels, options=options)


def router_agent(engine: TrainedEngine) -> DemoAgent:
    """The web agent: the demo's kind of router, with this history's model and a
    threshold no proposal reaches."""
    return DemoAgent(
        agent_id=AGENT_ID,
        name="Request router",
        purpose="Suggests the department for each request so it reaches the right team "
        "faster. It never rejects or closes a request.",
        algorithm_type="supervised-classification",
        model_description="cogov's default engine trained on a small test history.",
        version=engine.identity.version,
        model_hash=engine.identity.model_hash,
        threshold=0.99,
        training_description="Hand-written requests for the web tests.",
        snapshot_hash="0" * 64,
        public_summary="An AI assistant suggests which team should handle each request. "
        "A person checks its suggestions; you can always appeal to a person.",
        technical_detail="Calibrated linear model over word and character n-grams.",
    )


def filing(engine: TrainedEngine, services: list[str]) -> dict[str, Any]:
    """The demo's filing (cogov.pipeline.demo.agent_filing) with this agency's
    guardians, contacts and public texts."""
    return agent_filing(
        router_agent(engine),
        services,
        developer={"organisation": "City Digital Office", "contact": "dev@city.invalid"},
        deployer={"organisation": TEAM, "contact": "ops@city.invalid"},
        operating_department=TEAM,
        guardian="rita",
        backup_guardian="rob",
        security_responsible="Head of Information Security",
        legal_basis="Municipal code on citizen requests.",
        human_intervention="A person decides every proposal below the threshold.",
        public_contact="ai-register@city.invalid",
    )


def deploy_router(app: FastAPI) -> None:
    """File, approve and activate the router, and deploy its engine in ``app``."""
    state = app.state.cogov
    engine = trained_engine()
    with unit_of_work(state.engine) as session:
        document = filing(engine, list(state.intake.catalogue.codes))
        file_and_activate(session, document, admin="admin", approver="admin2")
    state.deployment = Deployment(
        intake=state.intake,
        control=load_control_config(state.settings),
        engines={AGENT_ID: engine},
        clock=state.clock,
    )


def seed_requests(app: FastAPI, count: int = 36) -> None:
    """Requests through the governed path on several channels and age bands, so the
    dashboards have something to show; staff enter every third one (assisted)."""
    from cogov.pipeline import process

    state = app.state.cogov
    samples = [
        ("pothole", "deep pothole in the road near the school", "1 Harbour Road"),
        ("noise", "loud music from the bar every night", None),
        ("illegal_dumping", "mattress left on the street", "3 Mill Lane"),
    ]
    bands = ["18_34", "35_64", "65_plus"]
    with unit_of_work(state.engine) as session:
        for number in range(count):
            service, text, place = samples[number % len(samples)]
            assisted = number % 3 == 0
            body: dict[str, Any] = {
                "service_code": service,
                "description": f"{text} ({number})",
                "channel": "phone" if assisted else "web",
                "group": {"age_band": bands[number % len(bands)]},
            }
            if place:
                body["address_string"] = place
            process(
                session,
                body,
                deployment=state.deployment,
                entered_by="fay" if assisted else None,
            )
