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
from cogov.registry import activate, approve, file_agent, parse_filing, submit
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


def filing(engine: TrainedEngine, services: list[str]) -> dict[str, Any]:
    return {
        "agent_id": AGENT_ID,
        "name": "Request router",
        "purpose": "Suggests the department for each request so it reaches the right team "
        "faster. It never rejects or closes a request.",
        "services": services,
        "algorithm_type": "supervised-classification",
        "model": {
            "description": "cogov's default engine trained on a small test history.",
            "version": engine.identity.version,
            "hash": engine.identity.model_hash,
        },
        "training_data": {
            "description": "Hand-written requests for the web tests.",
            "snapshot_hash": "0" * 64,
        },
        "developer": {"organisation": "City Digital Office", "contact": "dev@city.invalid"},
        "deployer": {"organisation": TEAM, "contact": "ops@city.invalid"},
        "operating_department": TEAM,
        "guardian": "rita",
        "backup_guardian": "rob",
        "security_responsible": "Head of Information Security",
        "legal_basis": "Municipal code on citizen requests.",
        "human_intervention": "A person decides every proposal below the threshold.",
        "appeal": "Every decision can be appealed to a person who took no part in it.",
        "languages": ["en", "zh"],
        "confidence_threshold": 0.99,
        "impact_assessment": {
            "answers": {
                "decision_affects": "routing",
                "autonomy": "acts_with_sampling",
                "reversibility": "easily_reversible",
                "duration": "days",
                "vulnerability": "includes_vulnerable",
                "data_sensitivity": "personal",
                "scale": "large",
                "explainability": "partly",
                "data_sources": "own_records",
                "scores_people_behaviour": "no",
                "infers_protected_traits": "no",
                "biometric_categorisation": "no",
                "manipulation": "no",
                "mitigations": [
                    "documented_human_review",
                    "appeal_to_human",
                    "bias_tested",
                    "group_monitoring",
                    "explanation_to_person",
                    "data_quality_checked",
                    "guardian_trained",
                    "publicly_registered",
                ],
            }
        },
        "security_assessment": {"status": "passed", "reference": "SA-1", "date": "2026-01-01"},
        "ethics_review": {"status": "not_required"},
        "public_summary": "An AI assistant suggests which team should handle each request. "
        "A person checks its suggestions; you can always appeal to a person.",
        "technical_detail": "Calibrated linear model over word and character n-grams.",
        "public_contact": "ai-register@city.invalid",
    }


def deploy_router(app: FastAPI) -> None:
    """File, approve and activate the router, and deploy its engine in ``app``."""
    state = app.state.cogov
    engine = trained_engine()
    with unit_of_work(state.engine) as session:
        document = parse_filing(filing(engine, list(state.intake.catalogue.codes)))
        file_agent(session, document=document, by="admin")
        submit(session, agent_id=AGENT_ID, by="admin", reason="Ready for approval")
        approve(session, agent_id=AGENT_ID, by="admin2", reason="Security assessment passed")
        activate(session, agent_id=AGENT_ID, by="admin", reason="Guardians on duty")
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
