// A finished run's curves as a still image, for model cards.
#pragma once

#include <QString>

// Draws per-epoch training loss and validation/test accuracy of every stage of
// the run in `runDir` into a PNG. Needs a QApplication (any platform, offscreen
// included). Returns an empty string, or why the image could not be made.
QString drawRunCurves(const QString &runDir, const QString &pngPath);
