"""What an explanation may claim: the out-of-distribution verdict and the counterfactual check.

Every front end (the explanation session behind the notebook panel and the dashboard, the
CLI's JSON and figure) asks this module two questions before it shows a number:

* is the image foreign to the classifier (:func:`latentviz.models.ood.check_image`)? Then
  its probability is "not applicable", not a verdict;
* did the medXGAN counterfactual work? Its negative realisation ``G(z1*, 0)`` must lower
  the target probability below the original's (medXGAN, REFERENCES §1: the negative is the
  same anatomy without the pathology). One that does not is a *failed* counterfactual and
  is not drawn as an explanation;
* may each method's map be read (:func:`check_method`)? A walk that never crossed the
  classifier's threshold (style walks, Latent Shift) found no counterfactual, and a map
  built on a reconstruction that failed the fidelity gates rests on another image.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentviz.models.ood import OODVerdict, check_image, check_image_batch

__all__ = [
    "FAILED_COUNTERFACTUAL_PANELS",
    "CounterfactualCheck",
    "MethodCheck",
    "OODVerdict",
    "check_counterfactual",
    "check_image",
    "check_image_batch",
    "check_method",
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


@dataclass(frozen=True)
class MethodCheck:
    """What one method's map of one image may claim.

    Attributes
    ----------
    method
        The registry key.
    found
        Whether the method's walk reached the other class (``None``: the method has no walk).
    low_fidelity
        Whether the reconstruction it explains failed the fidelity gates (``None``: it
        explains the image itself).
    reconstruction_psnr
        PSNR of that reconstruction (dB), where the method reports it.
    probability_start, probability_end
        Target probability at the two ends of the walk, where the method reports them.
    foreign
        Whether the image is foreign to the classifier (its out-of-distribution verdict;
        ``None``: not checked). A map of a probability that is no verdict is not trusted.
    """

    method: str
    found: bool | None = None
    low_fidelity: bool | None = None
    reconstruction_psnr: float | None = None
    probability_start: float | None = None
    probability_end: float | None = None
    foreign: bool | None = None

    @property
    def failed(self) -> bool:
        """The map is not a counterfactual explanation: the walk found no other class."""
        return self.found is False

    @property
    def trusted(self) -> bool:
        """Not failed, not built on a low-fidelity reconstruction, not of a foreign image."""
        return not self.failed and not self.low_fidelity and not self.foreign

    def warnings(self, label: str | None = None) -> list[str]:
        """One sentence per reason to distrust the map (empty when it may be read)."""
        name = label or self.method
        out = []
        if self.failed:
            ends = ""
            if self.probability_start is not None and self.probability_end is not None:
                ends = f" (p {self.probability_start:.3f} → {self.probability_end:.3f})"
            out.append(
                f"NO COUNTERFACTUAL ({name}): the walk never reached the other class{ends}; "
                "the map is not an explanation"
            )
        if self.low_fidelity:
            psnr = "" if self.reconstruction_psnr is None else f" (PSNR {self.reconstruction_psnr:.1f} dB)"
            out.append(
                f"LOW FIDELITY ({name}): its reconstruction{psnr} does not match the image; distrust the map"
            )
        if self.foreign:
            out.append(
                f"OUT OF DISTRIBUTION ({name}): the classifier was not trained for images like this one; "
                "the map explains a probability that is no verdict"
            )
        return out

    def to_dict(self, label: str | None = None) -> dict:
        """JSON-ready fields (the entry ``trust`` of each method in the summary)."""
        out: dict = {"trusted": self.trusted, "failed": self.failed}
        keys = (
            "found",
            "low_fidelity",
            "reconstruction_psnr",
            "probability_start",
            "probability_end",
            "foreign",
        )
        for k in keys:
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        out["warnings"] = self.warnings(label)
        return out


def _at(extras: dict, key: str, index: int) -> object:
    v = extras.get(key)
    if v is None:
        return None
    try:
        return v[index].item() if hasattr(v[index], "item") else v[index]
    except (IndexError, TypeError):
        return None


def check_method(
    key: str,
    attribution: object,
    index: int = 0,
    uses_reconstruction: bool = True,
    verdict: OODVerdict | None = None,
) -> MethodCheck:
    """The :class:`MethodCheck` of image ``index`` in a method's ``Attribution``.

    Reads the flags a method reports in ``extras``: ``flipped`` (style walks) or
    ``dropped`` (Latent Shift) for whether the walk reached the other class,
    ``low_fidelity`` and ``reconstruction_psnr`` for the reconstruction it explains
    (ignored when ``uses_reconstruction`` is False: such a method maps the image itself).
    ``verdict`` is the image's out-of-distribution verdict (``None``: not checked).
    """
    e = getattr(attribution, "extras", {}) or {}
    found = _at(e, "flipped", index)
    if found is None:
        found = _at(e, "dropped", index)
    low = _at(e, "low_fidelity", index) if uses_reconstruction else None
    psnr = _at(e, "reconstruction_psnr", index) if uses_reconstruction else None
    p0, p1 = _at(e, "probability_start", index), _at(e, "probability_end", index)
    return MethodCheck(
        key,
        None if found is None else bool(found),
        None if low is None else bool(low),
        None if psnr is None else float(psnr),
        None if p0 is None else float(p0),
        None if p1 is None else float(p1),
        None if verdict is None else bool(verdict.foreign),
    )


def probability_text(p: float, verdict: OODVerdict | None, digits: int = 3) -> str:
    """``p`` for a caption: ``"0.954"``, or ``"n/a (out of distribution)"`` for a foreign image."""
    if verdict is not None and verdict.foreign:
        return "n/a (out of distribution)"
    return f"{float(p):.{digits}f}"
