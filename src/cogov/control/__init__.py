"""cogov.control: standard processes, the negative list and routing. Every proposal
an agent makes is checked here and either applied within the agent's limits or
handed to a human; nothing goes through silently. (The dynamic autonomy
controller lives in ``cogov.control.autonomy``.)
"""

from cogov.control.config import ControlConfig, load_control_config, load_routing_policy
from cogov.control.errors import (
    ConfigInvalid,
    ControlError,
    InvalidDecision,
    MergeRefused,
    ProposalNotFound,
    ProposalNotPending,
    RuleCompileError,
    TransitionRefused,
    WorkflowNotFound,
)
from cogov.control.negative_list import NegativeList, load_negative_list, parse_negative_list
from cogov.control.process import ActorKind, ProcessBook, load_processes
from cogov.control.rules import Obligations, RoutingPolicy, Verdict
from cogov.control.schemas import (
    Actor,
    AgentContext,
    GovernedCase,
    Outcome,
    ProposalRead,
    ProposalState,
    WorkflowRead,
)
from cogov.control.service import (
    GovernBatch,
    apply_human_decision,
    cases_with_workflows,
    config_body,
    get_proposal,
    get_workflow,
    govern,
    merge_case,
    open_workflow,
    proposals_for_case,
    proposals_for_cases,
    record_config,
    resolve_case,
    transition,
    work_list,
    workflows_for_cases,
)

__all__ = [
    "Actor",
    "ActorKind",
    "AgentContext",
    "ConfigInvalid",
    "ControlConfig",
    "ControlError",
    "GovernBatch",
    "GovernedCase",
    "InvalidDecision",
    "MergeRefused",
    "NegativeList",
    "Obligations",
    "Outcome",
    "ProcessBook",
    "ProposalNotFound",
    "ProposalNotPending",
    "ProposalRead",
    "ProposalState",
    "RoutingPolicy",
    "RuleCompileError",
    "TransitionRefused",
    "Verdict",
    "WorkflowNotFound",
    "WorkflowRead",
    "apply_human_decision",
    "cases_with_workflows",
    "config_body",
    "get_proposal",
    "get_workflow",
    "govern",
    "load_control_config",
    "load_negative_list",
    "load_processes",
    "load_routing_policy",
    "merge_case",
    "open_workflow",
    "parse_negative_list",
    "proposals_for_case",
    "proposals_for_cases",
    "record_config",
    "resolve_case",
    "transition",
    "work_list",
    "workflows_for_cases",
]
