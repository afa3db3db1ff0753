"""Gates the queue asks before serving a labeler: qualification on gold items. The rules live
in `quality.services.qualification`; this module is the name the queue asks them by."""

from quality.services.qualification import (
    GOLD_ONLY,
    QualificationFailed,
    annotation_counts,
    qualification_gate,
)

__all__ = ["GOLD_ONLY", "QualificationFailed", "annotation_counts", "qualification_gate"]
