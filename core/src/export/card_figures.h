// The model card's figures as SVG (internal to core): plain text generated
// from a run's analysis (distillery/analysis.h), since core has no Qt and no
// image library. Pure functions, so the tests can draw and read them back.
//
// Every bar is a <rect> with class "bar <series>" and the figure it shows in
// data-value (its height is proportional to it from the axis at y = data-base),
// so a reader (or a test) can check the drawing against summary.json.
#pragma once

#include "distillery/analysis.h"

#include <string>
#include <vector>

namespace distillery::detail {

// The plotting area's height in SVG units: a bar of value v (on an axis from
// 0 to 1) is v × kCardPlotHeight high; the count bars of the reliability
// diagram are count / largest count × kCardCountHeight.
constexpr double kCardPlotHeight = 240.0;
constexpr double kCardCountHeight = 60.0;

// Reliability diagram of one stage: per non-empty calibration bin, a bar of
// its accuracy (class "bar accuracy") over its confidence interval, its mean
// confidence marked (class "confidence"), the diagonal of perfect calibration,
// and below, the bin's count (class "bar count", with the number written).
std::string reliabilitySvg(const StageAnalysis &a);

// Per-class test accuracy: for each class, one bar per stage given (class
// "bar teacher" | "bar baseline" | "bar student"; a class without examples
// gets none). `stages` in pipeline order; null entries are skipped.
std::string perClassSvg(const std::vector<const StageAnalysis *> &stages, const std::vector<std::string> &classNames);

// `text` with &, <, >, " and ' written as XML entities.
std::string xmlEscape(const std::string &text);

} // namespace distillery::detail
