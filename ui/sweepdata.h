// A sweep's results as the Sweeps tab shows them: each point's run folder read
// back (cached per folder while its summary.json is unchanged), and the points
// grouped into the cells of two swept settings, the mean and standard
// deviation over the seeds and the other settings' values in each cell.
// Read from the folders only: sweep.json (the plan) and each point's
// summary.json.
#pragma once

#include "distillery/sweep.h"

#include <QDateTime>
#include <QHash>
#include <QString>
#include <QStringList>

#include <limits>
#include <vector>

enum class SweepMeasure { StudentAccuracy = 0, GainOverBaseline = 1 };

// One point's run, as far as it has got.
struct SweepPointResult {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
    int point = 0;
    QString runDir;
    bool exists = false;        // the run folder has been made
    bool finished = false;      // its distilled student has a test accuracy
    double student = kNone;     // test accuracy of the distilled student, a fraction
    double baseline = kNone;    // of the baseline student (trained or taken over)
    // The measure, NaN when the run has not got that far.
    double value(SweepMeasure m) const;
};

// Reads the points' run folders, each again only when its summary.json has
// changed (time and size), so a refresh while a sweep runs reads the few
// points that moved.
class SweepResultCache {
public:
    std::vector<SweepPointResult> read(const distillery::SweepFolder &sweep);
    int folderReads() const { return reads_; } // for tests: how many were read from disk
    void clear() { cache_.clear(); }

private:
    struct Entry {
        QDateTime modified;
        qint64 size = 0;
        SweepPointResult result;
    };
    QHash<QString, Entry> cache_;
    int reads_ = 0;
};

struct SweepCell {
    std::vector<int> points;    // every point with the cell's two values
    int counted = 0;            // those with a value of the measure
    double mean = SweepPointResult::kNone;
    double stddev = SweepPointResult::kNone; // sample (n − 1); NaN below two values
};

// The cells of two swept settings (an empty key: a single column or row).
struct SweepGrid {
    QString xKey, yKey;
    QStringList xValues, yValues; // as JSON text, in order (numbers ascending)
    std::vector<SweepCell> cells; // row-major: y * xValues.size() + x
    int best = -1;                // the cell with the highest mean, or -1
    int columns() const { return int(xValues.size()); }
    int rows() const { return int(yValues.size()); }
    const SweepCell &cell(int x, int y) const { return cells[std::size_t(y * columns() + x)]; }
};

// The value a point gives `key` (JSON text), or "" when it does not set it.
QString sweepSetting(const distillery::SweepPoint &p, const QString &key);
// A value as shown: a JSON string without its quotes, numbers as written.
QString sweepValueText(const QString &json);
// The distinct values of `key` over the plan's points: ascending when all are
// numbers, else in the order they first appear. One empty value for "".
QStringList sweepAxisValues(const distillery::SweepPlan &plan, const QString &key);
SweepGrid sweepGrid(const distillery::SweepPlan &plan, const std::vector<SweepPointResult> &results,
                    const QString &xKey, const QString &yKey, SweepMeasure measure);
// The finished point of the cell with the highest value, or -1.
int bestPointOfCell(const SweepCell &cell, const std::vector<SweepPointResult> &results, SweepMeasure measure);

// The basis of a sweep's estimate: the seconds of each stage of the
// workspace's newest finished run (negative when there is none), and what
// each run of its newest sweep took beyond its stages (starting the process,
// reading the data, the analysis).
struct SweepStageSeconds {
    double teacher = -1, baseline = -1, student = -1;
    double perRun = 0;
    QString run; // its folder name
};
SweepStageSeconds newestStageSeconds(const QString &workspace);
double pointOverheadSeconds(const QString &workspace);
