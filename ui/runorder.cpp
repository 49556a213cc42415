#include "runorder.h"

#include <QFileInfo>
#include <QMap>
#include <QSet>
#include <QString>

#include <algorithm>
#include <functional>

namespace runorder {

void groupSweeps(std::vector<distillery::RunInfo> &runs)
{
    QMap<QString, std::vector<std::size_t>> sweeps;
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (!runs[i].sweep.empty())
            sweeps[QString::fromStdString(runs[i].sweep)].push_back(i);
    if (sweeps.isEmpty())
        return;
    std::vector<distillery::RunInfo> out;
    QSet<QString> placed;
    for (const auto &run : runs) {
        const QString sweep = QString::fromStdString(run.sweep);
        if (sweep.isEmpty()) {
            out.push_back(run);
        } else if (!placed.contains(sweep)) {
            placed.insert(sweep);
            std::vector<std::size_t> points = sweeps.value(sweep);
            std::stable_sort(points.begin(), points.end(),
                             [&](std::size_t a, std::size_t b) { return runs[a].sweepPoint < runs[b].sweepPoint; });
            for (std::size_t i : points)
                out.push_back(runs[i]);
        }
    }
    runs.swap(out);
}

std::vector<int> nestForks(std::vector<distillery::RunInfo> &runs)
{
    const auto folder = [](const std::string &dir) { return QFileInfo(QString::fromStdString(dir)).fileName(); };
    QSet<QString> present;
    for (const auto &r : runs)
        present.insert(folder(r.dir));
    QMap<QString, std::vector<std::size_t>> forks;
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (!runs[i].forkedFrom.empty() && present.contains(folder(runs[i].forkedFrom)))
            forks[folder(runs[i].forkedFrom)].push_back(i);
    std::vector<distillery::RunInfo> out;
    std::vector<int> depth;
    std::vector<bool> placed(runs.size(), false);
    const std::function<void(std::size_t, int)> place = [&](std::size_t i, int d) {
        if (placed[i])
            return;
        placed[i] = true;
        out.push_back(runs[i]);
        depth.push_back(d);
        for (std::size_t f : forks.value(folder(runs[i].dir)))
            place(f, d + 1);
    };
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (runs[i].forkedFrom.empty() || !present.contains(folder(runs[i].forkedFrom)))
            place(i, 0);
    for (std::size_t i = 0; i < runs.size(); ++i) // forks of forks whose chain loops back: listed anyway
        place(i, 0);
    runs.swap(out);
    return depth;
}

} // namespace runorder
