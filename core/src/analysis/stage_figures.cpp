// One stage's analysis (distillery/analysis.h: analyseLogits): accuracy,
// confusion, calibration, and the comparisons with the teacher and the baseline.
#include "distillery/analysis.h"

#include <cmath>

namespace distillery {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void checkLabels(const AnalysisLogits &z)
{
    if (z.indices.size() != std::size_t(z.rows) || z.labels.size() != std::size_t(z.rows) ||
        z.logits.size() != std::size_t(z.rows * z.classes))
        throw AnalysisError("analysis: logits of inconsistent sizes (" + std::to_string(z.rows) + " rows)");
    for (const auto y : z.labels)
        if (y < 0 || y >= z.classes)
            throw AnalysisError("analysis: label " + std::to_string(y) + " outside [0, " +
                                std::to_string(z.classes) + ")");
}

void checkComparable(const AnalysisLogits &model, const AnalysisLogits &other, const char *what)
{
    checkLabels(other);
    if (other.rows != model.rows || other.classes != model.classes || other.labels != model.labels ||
        other.indices != model.indices)
        throw AnalysisError(std::string("analysis: the ") + what +
                            "'s logits are not of the same examples (rows, classes or labels differ)");
}

void add(ExampleSet &set, std::int64_t index, std::int64_t label)
{
    set.count += 1;
    set.perClass[std::size_t(label)] += 1;
    set.indices.push_back(index);
}

ExampleSet emptySet(std::int64_t classes)
{
    ExampleSet s;
    s.perClass.assign(std::size_t(classes), 0);
    return s;
}

TeacherComparison compareWithTeacher(const AnalysisLogits &model, const AnalysisLogits &teacher,
                                     const std::vector<std::int64_t> &counts)
{
    TeacherComparison c;
    const auto k = std::size_t(model.classes);
    c.agreement = agreement(teacher.view(), model.view());
    c.kl = meanKl(teacher.view(), model.view(), 1.0);
    c.agreementPerClass.assign(k, 0.0);
    c.klPerClass.assign(k, 0.0);
    for (auto *s : {&c.bothRight, &c.teacherOnly, &c.modelOnly, &c.bothWrong})
        *s = emptySet(model.classes);
    const auto pm = predictions(model.view());
    const auto pt = predictions(teacher.view());
    for (std::int64_t i = 0; i < model.rows; ++i) {
        const auto y = model.labels[std::size_t(i)];
        const auto idx = model.indices[std::size_t(i)];
        const bool m = pm[std::size_t(i)] == y, t = pt[std::size_t(i)] == y;
        add(m && t ? c.bothRight : t ? c.teacherOnly : m ? c.modelOnly : c.bothWrong, idx, y);
        c.agreementPerClass[std::size_t(y)] += pm[std::size_t(i)] == pt[std::size_t(i)] ? 1.0 : 0.0;
        const LogitsView tr{teacher.view().row(i), 1, teacher.classes};
        const LogitsView mr{model.view().row(i), 1, model.classes};
        c.klPerClass[std::size_t(y)] += meanKl(tr, mr, 1.0);
    }
    for (std::size_t y = 0; y < k; ++y) {
        c.agreementPerClass[y] = counts[y] > 0 ? c.agreementPerClass[y] / double(counts[y]) : kNaN;
        c.klPerClass[y] = counts[y] > 0 ? c.klPerClass[y] / double(counts[y]) : kNaN;
    }
    return c;
}

BaselineComparison compareWithBaseline(const AnalysisLogits &student, const AnalysisLogits &baseline)
{
    BaselineComparison c;
    c.fixed = emptySet(student.classes);
    c.broken = emptySet(student.classes);
    const auto ps = predictions(student.view());
    const auto pb = predictions(baseline.view());
    for (std::int64_t i = 0; i < student.rows; ++i) {
        const auto y = student.labels[std::size_t(i)];
        const bool s = ps[std::size_t(i)] == y, b = pb[std::size_t(i)] == y;
        if (s && !b)
            add(c.fixed, student.indices[std::size_t(i)], y);
        else if (b && !s)
            add(c.broken, student.indices[std::size_t(i)], y);
    }
    return c;
}

} // namespace

StageAnalysis analyseLogits(const AnalysisLogits &model, const AnalysisLogits *teacher,
                            const AnalysisLogits *baseline)
{
    checkLabels(model);
    StageAnalysis a;
    a.examples = model.rows;
    a.classes = model.classes;
    const auto k = std::size_t(model.classes);
    const auto *labels = model.labels.data();
    a.confusion.assign(k, std::vector<std::int64_t>(k, 0));
    a.classCounts.assign(k, 0);
    const auto pred = predictions(model.view());
    std::int64_t right = 0;
    for (std::int64_t i = 0; i < model.rows; ++i) {
        const auto y = std::size_t(labels[i]);
        a.confusion[y][std::size_t(pred[std::size_t(i)])] += 1;
        a.classCounts[y] += 1;
        right += pred[std::size_t(i)] == labels[i];
    }
    a.accuracy = model.rows > 0 ? double(right) / double(model.rows) : kNaN;
    for (std::size_t y = 0; y < k; ++y)
        a.perClassAccuracy.push_back(a.classCounts[y] > 0 ? double(a.confusion[y][y]) / double(a.classCounts[y])
                                                          : kNaN);
    a.nll = meanNll(model.view(), labels);
    a.brier = brierScore(model.view(), labels);
    a.calibration = calibration(model.view(), labels);
    if (teacher) {
        checkComparable(model, *teacher, "teacher");
        a.teacher = compareWithTeacher(model, *teacher, a.classCounts);
    }
    if (baseline) {
        checkComparable(model, *baseline, "baseline");
        a.baseline = compareWithBaseline(model, *baseline);
    }
    return a;
}

const StageAnalysis *AnalysisSummary::stage(const std::string &name) const
{
    for (const auto &s : stages)
        if (s.stage == name)
            return &s;
    return nullptr;
}

} // namespace distillery
