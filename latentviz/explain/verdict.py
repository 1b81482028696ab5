"""What an explanation may claim: the out-of-distribution verdict and the counterfactual check.

Every front end (the explanation session behind the notebook panel and the dashboard, the
CLI's JSON and figure) asks this module two questions before it shows a number:

* is the image foreign to the classifier (:func:`latentviz.models.ood.check_image`)? Then
  its probability is "not applicable", not a verdict;
* did the medXGAN counterfactual work? Its negative realisation ``G(z1*, 0)`` must lower
  the target probability below the original's (medXGAN, REFERENCES §1: the negative is the
  same anatomy without the pathology). One that does not is a *failed* counterfactual and
  is not drawn as an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentviz.models.ood import OODVerdict, check_image, check_image_batch

__all__ = [
    "FAILED_COUNTERFACTUAL_PANELS",
    "CounterfactualCheck",
    "OODVerdict",
    "check_counterfactual",
    "check_image",
    "check_image_batch",
    "probability_text",
]

#: Panels (keys of the session and the figure) that show the counterfactual.
FAILED_COUNTERFACTUAL_PANELS = ("negative", "difference", "colorized")


@dataclass(frozen=True)
class CounterfactualCheck:
    """Whether the negative realisation lowered the target probability.

    Attributes
    ----------
    failed
        True when ``p_negative >= p_original - min_drop``.
    p_original, p_negative
        Target probability of the image and of ``G(z1*, 0)``.
    min_drop
        The least decrease asked for.
    """

    failed: bool
    p_original: float
    p_negative: float
    min_drop: float = 0.0

    @property
    def reason(self) -> str:
        """One sentence for a caption, a figure title or a terminal ("" when it worked)."""
        if not self.failed:
            return ""
        how = "more positive than" if self.p_negative > self.p_original else "not below"
        return (
            f"COUNTERFACTUAL FAILED: the negative G(z1*, 0) has p={self.p_negative:.3f}, {how} the "
            f"original's p={self.p_original:.3f}; it explains nothing"
        )

    def to_dict(self) -> dict:
        """JSON-ready fields (the CLI's ``counterfactual`` entry)."""
        return {
            "failed": self.failed,
            "p_original": self.p_original,
            "p_negative": self.p_negative,
            "min_drop": self.min_drop,
            "reason": self.reason,
        }


def check_counterfactual(p_original: float, p_negative: float, min_drop: float = 0.0) -> CounterfactualCheck:
    """Flag a counterfactual whose negative does not lower the probability.

    Parameters
    ----------
    p_original
        Target probability of the explained image.
    p_negative
        Target probability of its negative realisation ``G(z1*, 0)``.
    min_drop
        The negative must be at least this much below the original.

    Examples
    --------
    >>> check_counterfactual(0.054, 0.952).failed
    True
    >>> check_counterfactual(0.99, 0.02).failed
    False
    """
    p0, pn = float(p_original), float(p_negative)
    return CounterfactualCheck(bool(pn >= p0 - min_drop), p0, pn, float(min_drop))


def probability_text(p: float, verdict: OODVerdict | None, digits: int = 3) -> str:
    """``p`` for a caption: ``"0.954"``, or ``"n/a (out of distribution)"`` for a foreign image."""
    if verdict is not None and verdict.foreign:
        return "n/a (out of distribution)"
    return f"{float(p):.{digits}f}"
