#include "insightexamplemodel.h"

#include <QColor>
#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace distillery;

namespace {

constexpr int kThumbnail = 64; // the longest side of a thumbnail, in pixels
constexpr int kFeaturesShown = 4;

// Marks each example of `set` with `value` in `marks` (by example index).
void mark(std::vector<qint8> &marks, const ExampleSet &set, qint8 value)
{
    for (std::int64_t i : set.indices)
        if (i >= 0 && std::size_t(i) < marks.size())
            marks[std::size_t(i)] = value;
}

} // namespace

InsightExampleModel::InsightExampleModel(QObject *parent) : QAbstractTableModel(parent) {}

bool InsightExampleModel::hasQuadrants() const
{
    const StageAnalysis *s = run_ ? run_->stage(InsightModel::Student) : nullptr;
    return s && s->teacher.has_value();
}

bool InsightExampleModel::hasChanges() const
{
    const StageAnalysis *s = run_ ? run_->stage(InsightModel::Student) : nullptr;
    return s && s->baseline.has_value();
}

void InsightExampleModel::setRun(const InsightRun *run)
{
    beginResetModel();
    run_ = run;
    rows_.clear();
    rowOf_.clear();
    images_.clear();
    features_.clear();
    // The rows: those of the teacher's logits file, else of the student's or the baseline's.
    const AnalysisLogits *base = nullptr;
    for (InsightModel m : {InsightModel::Teacher, InsightModel::Student, InsightModel::Baseline})
        if (!base && run)
            base = run->logitsOf(m);
    std::int64_t top = -1;
    for (std::int64_t r = 0; base && r < base->rows; ++r)
        top = std::max(top, base->indices[std::size_t(r)]);
    rowOf_.assign(std::size_t(top + 1), -1);
    std::vector<qint8> quadrant(rowOf_.size(), -1), change(rowOf_.size(), -1);
    const StageAnalysis *student = run ? run->stage(InsightModel::Student) : nullptr;
    if (student && student->teacher) {
        const TeacherComparison &t = *student->teacher;
        mark(quadrant, t.bothRight, ExampleFilter::BothRight);
        mark(quadrant, t.teacherOnly, ExampleFilter::TeacherOnly);
        mark(quadrant, t.modelOnly, ExampleFilter::StudentOnly);
        mark(quadrant, t.bothWrong, ExampleFilter::BothWrong);
    }
    if (student && student->baseline) {
        mark(change, student->baseline->fixed, ExampleFilter::Fixed);
        mark(change, student->baseline->broken, ExampleFilter::Broken);
    }
    const AnalysisLogits *teacher = run ? run->logitsOf(InsightModel::Teacher) : nullptr;
    const AnalysisLogits *studentLogits = run ? run->logitsOf(InsightModel::Student) : nullptr;
    rows_.reserve(base ? std::size_t(base->rows) : 0);
    for (std::int64_t r = 0; base && r < base->rows; ++r) {
        Row row;
        row.index = base->indices[std::size_t(r)];
        if (row.index < 0)
            continue;
        row.label = base->labels[std::size_t(r)];
        for (int m = 0; m < kInsightModels; ++m) {
            const std::int64_t at = run->rowOf(InsightModel(m), row.index);
            row.predicted[m] = at < 0 ? -1 : run->predicted[std::size_t(m)][std::size_t(at)];
        }
        const std::int64_t t = run->rowOf(InsightModel::Teacher, row.index);
        const std::int64_t s = run->rowOf(InsightModel::Student, row.index);
        row.kl = t < 0 || s < 0 ? std::numeric_limits<double>::quiet_NaN()
                                : meanKl({teacher->view().row(t), 1, teacher->classes},
                                         {studentLogits->view().row(s), 1, studentLogits->classes}, 1.0);
        row.quadrant = quadrant[std::size_t(row.index)];
        row.change = change[std::size_t(row.index)];
        rowOf_[std::size_t(row.index)] = std::int64_t(rows_.size());
        rows_.push_back(row);
    }
    relist();
    endResetModel();
}

void InsightExampleModel::setFilter(const ExampleFilter &filter)
{
    beginResetModel();
    filter_ = filter;
    relist();
    endResetModel();
}

void InsightExampleModel::relist()
{
    listed_.clear();
    for (const Row &r : rows_)
        if ((filter_.quadrant < 0 || r.quadrant == filter_.quadrant) &&
            (filter_.change < 0 || r.change == filter_.change) &&
            (filter_.trueClass < 0 || r.label == filter_.trueClass) &&
            (filter_.predictedBy < 0 || filter_.predictedBy >= kInsightModels ||
             r.predicted[filter_.predictedBy] == filter_.predicted))
            listed_.push_back(r.index);
    if (filter_.order == ExampleFilter::ByIndex) {
        std::sort(listed_.begin(), listed_.end());
        return;
    }
    // The largest KL first, equal ones by index; examples without a KL last.
    std::stable_sort(listed_.begin(), listed_.end(), [this](std::int64_t a, std::int64_t b) {
        const double ka = kl(a), kb = kl(b);
        const bool na = std::isnan(ka), nb = std::isnan(kb);
        if (na != nb)
            return nb; // the one with a KL first
        if (!na && ka != kb)
            return ka > kb;
        return a < b;
    });
}

void InsightExampleModel::setInputs(const std::vector<std::int64_t> &indices, std::vector<QImage> images,
                                    const std::vector<std::vector<float>> &features)
{
    images_.assign(rowOf_.size(), QImage());
    features_.assign(images.empty() && !features.empty() ? rowOf_.size() : 0, QString());
    thumbnail_ = QSize();
    const QLocale locale;
    for (std::size_t i = 0; i < indices.size(); ++i) {
        const std::int64_t index = indices[i];
        if (index < 0 || std::size_t(index) >= rowOf_.size())
            continue;
        if (i < images.size()) {
            images_[std::size_t(index)] = std::move(images[i]);
        } else if (i < features.size()) {
            QStringList shown;
            for (std::size_t f = 0; f < features[i].size() && f < std::size_t(kFeaturesShown); ++f)
                shown << locale.toString(features[i][f], 'f', 2);
            if (features[i].size() > std::size_t(kFeaturesShown))
                shown << QStringLiteral("…");
            features_[std::size_t(index)] = shown.join(QStringLiteral("  "));
        }
    }
    if (images.empty())
        images_.clear();
    for (const QImage &image : images_)
        if (!image.isNull()) {
            // Small pictures at a whole multiple of their size, large ones shrunk.
            const int side = std::max(image.width(), image.height());
            const double scale = side >= kThumbnail ? double(kThumbnail) / side : double(kThumbnail / side);
            thumbnail_ = QSize(int(image.width() * scale), int(image.height() * scale));
            break;
        }
    if (!rows_.empty())
        Q_EMIT dataChanged(index(0, Input), index(rowCount() - 1, Input));
}

QImage InsightExampleModel::image(std::int64_t index) const
{
    return index >= 0 && std::size_t(index) < images_.size() ? images_[std::size_t(index)] : QImage();
}

std::vector<std::int64_t> InsightExampleModel::examples() const
{
    std::vector<std::int64_t> out;
    out.reserve(rows_.size());
    for (const Row &r : rows_)
        out.push_back(r.index);
    return out;
}

std::int64_t InsightExampleModel::exampleAt(int row) const
{
    return row >= 0 && std::size_t(row) < listed_.size() ? listed_[std::size_t(row)] : -1;
}

int InsightExampleModel::rowOfExample(std::int64_t index) const
{
    const auto it = std::find(listed_.begin(), listed_.end(), index);
    return it == listed_.end() ? -1 : int(it - listed_.begin());
}

double InsightExampleModel::kl(std::int64_t index) const
{
    if (index < 0 || std::size_t(index) >= rowOf_.size() || rowOf_[std::size_t(index)] < 0)
        return std::numeric_limits<double>::quiet_NaN();
    return rows_[std::size_t(rowOf_[std::size_t(index)])].kl;
}

int InsightExampleModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(listed_.size());
}

int InsightExampleModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : Columns;
}

QVariant InsightExampleModel::prediction(const Row &r, int model, int role) const
{
    const std::int64_t p = r.predicted[model];
    const bool wrong = p >= 0 && p != r.label;
    if (role == Qt::DisplayRole)
        return p < 0 ? QStringLiteral("–") : (wrong ? QStringLiteral("✗ ") : QString()) + run_->className(p);
    if (role == Qt::ForegroundRole && wrong)
        return QColor(0xc6, 0x28, 0x28);
    if (role == Qt::UserRole)
        return qint64(p);
    return {};
}

QVariant InsightExampleModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || !run_)
        return {};
    const std::int64_t example = listed_[std::size_t(index.row())];
    const Row &r = rows_[std::size_t(rowOf_[std::size_t(example)])];
    switch (index.column()) {
    case Example:
        if (role == Qt::DisplayRole)
            return QString::number(example);
        if (role == Qt::UserRole)
            return qint64(example);
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Input: {
        const QImage image = this->image(example);
        if (role == Qt::DecorationRole && !image.isNull())
            return image.scaled(thumbnail_, Qt::KeepAspectRatio, Qt::FastTransformation);
        if (role == Qt::DisplayRole && std::size_t(example) < features_.size())
            return features_[std::size_t(example)];
        return {};
    }
    case True:
        if (role == Qt::DisplayRole)
            return run_->className(r.label);
        if (role == Qt::UserRole)
            return qint64(r.label);
        return {};
    case Kl:
        if (role == Qt::DisplayRole)
            return std::isnan(r.kl) ? QStringLiteral("–") : QLocale().toString(r.kl, 'f', 4);
        if (role == Qt::UserRole)
            return r.kl;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    default:
        return prediction(r, index.column() - Teacher, role);
    }
}

QVariant InsightExampleModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    static const char *titles[] = {QT_TR_NOOP("Example"), QT_TR_NOOP("Input"),   QT_TR_NOOP("True"),   QT_TR_NOOP("Teacher"),
                                   QT_TR_NOOP("Baseline"), QT_TR_NOOP("Student"), QT_TR_NOOP("KL(t‖s)")};
    if (role == Qt::DisplayRole && section >= 0 && section < Columns)
        return tr(titles[section]);
    if (role == Qt::ToolTipRole && section == Kl)
        return tr("KL(softmax(t) ‖ softmax(s)) of the example's teacher and student logits, at T = 1");
    if (role == Qt::ToolTipRole && section >= Teacher && section <= Student)
        return tr("The model's prediction (argmax of its logits); ✗ and red: wrong");
    return {};
}
