"""The invariant library: properties declared once, checked by every driver.

* :mod:`properties.core`: ``always`` / ``eventually`` / ``sometimes``, the
  registry, the per-step checker and the outcomes (exit codes);
* :mod:`properties.view`: the observable view of a WAL-consensus world;
* :mod:`properties.consensus`: the WAL-consensus invariants over that view,
  and the same names over the abstract model (:mod:`properties.spec_view`).
"""

from properties.consensus import (
    REGISTRY,
    SPEC_REGISTRY,
    TLA_NAMES,
    consensus_properties,
    format_lsn,
    spec_properties,
    wal_digest,
)
from properties.core import (
    Checker,
    DuplicateProperty,
    Failure,
    InvalidArgument,
    Outcome,
    Property,
    PropertyError,
    Registry,
    UnknownProperty,
    Violation,
    always,
    eventually,
    fail,
    sometimes,
)
from properties.spec_view import SpecAcceptor, SpecProposer, SpecView, SpecViewError
from properties.view import (
    AcceptorView,
    Commit,
    ConsensusView,
    Election,
    History,
    ProposerView,
    Truncation,
    Vote,
)

__all__ = [
    "REGISTRY",
    "SPEC_REGISTRY",
    "TLA_NAMES",
    "AcceptorView",
    "Checker",
    "Commit",
    "ConsensusView",
    "DuplicateProperty",
    "Election",
    "Failure",
    "History",
    "InvalidArgument",
    "Outcome",
    "Property",
    "PropertyError",
    "ProposerView",
    "Registry",
    "SpecAcceptor",
    "SpecProposer",
    "SpecView",
    "SpecViewError",
    "Truncation",
    "UnknownProperty",
    "Violation",
    "Vote",
    "always",
    "consensus_properties",
    "eventually",
    "fail",
    "format_lsn",
    "sometimes",
    "spec_properties",
    "wal_digest",
]
