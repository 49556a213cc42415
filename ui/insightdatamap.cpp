#include "insightdatamap.h"

#include "insightdata.h"
#include "insightplot.h"
#include "stagestyle.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QThread>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

constexpr int kBuckets = 5; // correctness in fifths, as the paper's colour bar
constexpr int kRinged = 25;  // of a ranking, the examples ringed on the maps

QColor bucketColor(int b)
{
    // From red (never right) through amber to blue (always right).
    static const QColor colors[kBuckets] = {QColor(198, 40, 40), QColor(239, 108, 0), QColor(192, 160, 0),
                                            QColor(67, 160, 71), QColor(21, 101, 192)};
    return colors[b];
}

int bucketOf(double correctness)
{
    return std::clamp(int(correctness * kBuckets), 0, kBuckets - 1);
}

QString stageLabel(const QString &stage)
{
    if (stage == QLatin1String("student"))
        return QObject::tr("Distilled student");
    if (stage == QLatin1String("baseline"))
        return QObject::tr("Baseline (no teacher)");
    return QObject::tr("Teacher");
}

QTableWidgetItem *number(double v)
{
    auto *item = new QTableWidgetItem;
    if (std::isfinite(v))
        item->setData(Qt::DisplayRole, std::round(v * 1000.0) / 1000.0);
    return item;
}

const char *kHow = QT_TRANSLATE_NOOP(
    "InsightDataMap",
    "Dataset cartography (Swayamdipta et al. 2020). A point per training example: at each epoch the training step's "
    "softmax probability (T = 1) of the example's true class is recorded; confidence (y) is its mean over the epochs, "
    "variability (x) its standard deviation, and the colour the fraction of epochs in which the example's argmax was "
    "its class. Easy examples sit top left, ambiguous ones to the right, hard ones at the bottom. Drag a rectangle to "
    "list its examples.");

} // namespace

InsightDataMap::InsightDataMap(QWidget *parent)
    : QWidget(parent), message_(new QLabel(this)), caption_(new QLabel(this)), listing_(new QComboBox(this)),
      examples_(new QTableWidget(0, 8, this))
{
    auto *maps = new QWidget(this);
    auto *row = new QHBoxLayout(maps);
    row->setContentsMargins(0, 0, 0, 0);
    for (int side = 0; side < 2; ++side) {
        plots_[side] = new InsightPlot(side == Left ? tr("Baseline (no teacher)") : tr("Distilled student"),
                                       tr(kHow), this);
        QCustomPlot *p = plots_[side]->plot();
        p->xAxis->setLabel(tr("variability (std of p(true class) over epochs)"));
        p->yAxis->setLabel(tr("confidence (mean p(true class))"));
        p->setNotAntialiasedElements(QCP::aeScatters);
        p->setSelectionRectMode(QCP::srmCustom);
        connect(p->selectionRect(), &QCPSelectionRect::accepted, this, [this, side, p](const QRect &r, QMouseEvent *) {
            const QRectF region(QPointF(p->xAxis->pixelToCoord(r.left()), p->yAxis->pixelToCoord(r.top())),
                                QPointF(p->xAxis->pixelToCoord(r.right()), p->yAxis->pixelToCoord(r.bottom())));
            selectRegion(side, region.normalized());
        });
        row->addWidget(plots_[side], 1);
    }
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    message_->hide();
    listing_->addItems({tr("Examples in the dragged region"), tr("Made easier by the teacher"),
                        tr("Made harder by the teacher")});
    listing_->setToolTip(tr("Which examples to list: those in a rectangle dragged over either map, or those whose "
                            "confidence the distilled student has most above (or below) the baseline's"));
    connect(listing_, qOverload<int>(&QComboBox::activated), this, &InsightDataMap::setListing);
    caption_->setWordWrap(true);
    examples_->setHorizontalHeaderLabels({tr("Row"), tr("Class"), tr("Confidence"), tr("Variability"),
                                          tr("Confidence"), tr("Variability"), tr("Δ confidence"), tr("Right")});
    examples_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    examples_->horizontalHeader()->setStretchLastSection(true);
    examples_->verticalHeader()->hide();
    examples_->verticalHeader()->setDefaultSectionSize(examples_->fontMetrics().height() + 6);
    examples_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    examples_->setSelectionBehavior(QAbstractItemView::SelectRows);
    examples_->setSortingEnabled(true);
    examples_->setToolTip(tr("Row: the example's row in the training split. Confidence and variability on the left "
                             "map, then on the student's; Δ confidence: the student's minus the left map's; Right: "
                             "the fraction of epochs the student got the example right."));

    auto *lower = new QWidget(this);
    auto *lowerLayout = new QVBoxLayout(lower);
    lowerLayout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    bar->addWidget(listing_);
    bar->addWidget(caption_, 1);
    lowerLayout->addLayout(bar);
    lowerLayout->addWidget(examples_, 1);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(maps);
    split->addWidget(lower);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(message_);
    layout->addWidget(split, 1);
}

InsightDataMap::~InsightDataMap()
{
    ++generation_; // pictures still on their way are dropped
    for (const QPointer<QThread> &t : readers_)
        if (t)
            t->wait();
}

void InsightDataMap::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    startReading();
}

std::vector<std::int64_t> InsightDataMap::mapRows() const
{
    std::vector<std::int64_t> rows;
    for (const auto &m : maps_)
        if (m)
            rows.insert(rows.end(), m->dynamics.trainRows.begin(), m->dynamics.trainRows.end());
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    return rows;
}

void InsightDataMap::startReading()
{
    const std::vector<std::int64_t> rows = mapRows();
    if (reading_ || picturesRead_ || rows.empty() || runDir_.isEmpty())
        return;
    reading_ = true;
    pictureRows_ = rows;
    const int generation = ++generation_;
    const QString runDir = runDir_;
    QThread *thread = QThread::create([this, generation, runDir, rows] {
        RunExamples ex = readRunExamples(runDir, "train", rows);
        QMetaObject::invokeMethod(
            this,
            [this, generation, rows, images = std::move(ex.images), error = ex.error]() mutable {
                picturesArrived(generation, rows, std::move(images), error);
            },
            Qt::QueuedConnection);
    });
    connect(thread, &QThread::finished, thread, &QObject::deleteLater, Qt::QueuedConnection);
    readers_.removeAll(nullptr);
    readers_.append(thread);
    thread->start();
}

void InsightDataMap::picturesArrived(int generation, std::vector<std::int64_t> rows, std::vector<QImage> pictures,
                                     QString error)
{
    if (generation != generation_)
        return;
    reading_ = false;
    picturesRead_ = true;
    pictures_.clear();
    for (std::size_t i = 0; i < rows.size() && i < pictures.size(); ++i)
        pictures_.insert(rows[i], std::move(pictures[i]));
    picturesError_ = error;
    if (!error.isEmpty()) {
        message_->setText(message_->text() + (message_->text().isEmpty() ? QString() : QStringLiteral("\n")) +
                          tr("The training examples' pictures could not be read: %1").arg(error));
        message_->show();
    }
    setThumbnails();
}

void InsightDataMap::setThumbnails()
{
    if (pictures_.isEmpty())
        return;
    const QSize size = pictures_.begin()->size().boundedTo(QSize(48, 48));
    examples_->setIconSize(size);
    examples_->verticalHeader()->setDefaultSectionSize(std::max(examples_->fontMetrics().height() + 6,
                                                                size.height() + 4));
    for (int r = 0; r < examples_->rowCount(); ++r) {
        QTableWidgetItem *item = examples_->item(r, Row);
        const auto found = pictures_.constFind(item->data(Qt::DisplayRole).toLongLong());
        if (found != pictures_.constEnd() && !found->isNull())
            item->setData(Qt::DecorationRole, QPixmap::fromImage(found->scaled(size)));
    }
}

void InsightDataMap::setRun(const InsightRun &run)
{
    runDir_ = run.runDir;
    classNames_.clear();
    for (int k = 0; k < run.classes(); ++k)
        classNames_ << run.className(k);
    const QDir analysis(QDir(run.runDir).filePath(QStringLiteral("analysis")));
    const auto pathOf = [&](const char *stage) { return analysis.filePath(QLatin1String(stage) + ".dynamics"); };
    const char *left = QFileInfo::exists(pathOf("baseline")) ? "baseline" : "teacher";
    const char *stages[2] = {left, "student"};
    QStringList problems;
    for (int side = 0; side < 2; ++side) {
        maps_[side].reset();
        const QString path = pathOf(stages[side]);
        if (!QFileInfo::exists(path))
            continue;
        try {
            Loaded l{QLatin1String(stages[side]), readTrainingDynamics(path.toStdString()), {}};
            l.map = distillery::dataMap(l.dynamics);
            maps_[side] = std::move(l);
        } catch (const AnalysisError &e) {
            problems << QString::fromStdString(e.what());
        }
    }
    if (!maps_[Left] && !maps_[Right] && problems.isEmpty() && !run.runDir.isEmpty())
        problems << tr("No training dynamics in this run: runs made before the data map, and stages that were "
                       "reused or imported, have none. Re-run it to see its data map.");
    message_->setText(problems.join(QLatin1Char('\n')));
    message_->setVisible(!problems.isEmpty());
    draw(Left);
    draw(Right);
    listed_.clear();
    examples_->setRowCount(0);
    setListing(aligned() ? Easier : Region);
    if (mapRows() != pictureRows_ || runDir_ != picturesDir_) { // another run, or a stage more since
        ++generation_;
        reading_ = picturesRead_ = false;
        pictures_.clear();
        pictureRows_.clear();
        picturesError_.clear();
        picturesDir_ = runDir_;
    }
    if (isVisible())
        startReading();
}

bool InsightDataMap::aligned() const
{
    return maps_[Left] && maps_[Right] && maps_[Left]->dynamics.trainRows == maps_[Right]->dynamics.trainRows;
}

void InsightDataMap::draw(Side side)
{
    QCustomPlot *p = plots_[side]->plot();
    p->clearGraphs();
    const auto &loaded = maps_[side];
    plots_[side]->titleLabel()->setText(loaded ? stageLabel(loaded->stage) : tr("(no training dynamics)"));
    QVector<double> keys[kBuckets], values[kBuckets];
    double meanConfidence = 0;
    std::int64_t seen = 0;
    if (loaded)
        for (std::int64_t i = 0; i < loaded->map.size(); ++i) {
            const double c = loaded->map.confidence[std::size_t(i)];
            if (!std::isfinite(c))
                continue;
            const int b = bucketOf(loaded->map.correctness[std::size_t(i)]);
            keys[b] << loaded->map.variability[std::size_t(i)];
            values[b] << c;
            meanConfidence += c;
            ++seen;
        }
    for (int b = 0; b < kBuckets; ++b) {
        QCPGraph *g = p->addGraph();
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, bucketColor(b), 3));
        g->setName(tr("right in %1–%2% of epochs").arg(b * 100 / kBuckets).arg((b + 1) * 100 / kBuckets));
        g->setData(keys[b], values[b]);
    }
    QCPGraph *ring = p->addGraph(); // the listed examples
    ring->setLineStyle(QCPGraph::lsNone);
    ring->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 1.5), Qt::NoBrush, 8));
    ring->setName(tr("listed"));
    p->legend->setVisible(seen > 0);
    // Bottom right: low confidence with a large spread is the emptiest corner of a map.
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    p->xAxis->setRange(0, 0.5);
    p->yAxis->setRange(0, 1.0);
    if (loaded && seen > 0)
        plots_[side]->titleLabel()->setText(tr("%1 · %2 examples · %3 epochs · mean confidence %4")
                                                .arg(stageLabel(loaded->stage))
                                                .arg(seen)
                                                .arg(loaded->dynamics.epochs)
                                                .arg(meanConfidence / double(seen), 0, 'f', 3));
    p->replot();
}

void InsightDataMap::selectRegion(int side, const QRectF &region)
{
    listing_->setCurrentIndex(Region);
    listedSide_ = side;
    const auto &loaded = maps_[side];
    if (!loaded) {
        list({}, tr("That map has no examples."));
        return;
    }
    QList<qint64> found;
    const DataMap &m = loaded->map;
    for (std::int64_t i = 0; i < m.size(); ++i) {
        const double v = m.variability[std::size_t(i)], c = m.confidence[std::size_t(i)];
        if (std::isfinite(c) && v >= region.left() && v <= region.right() && c >= region.top() &&
            c <= region.bottom())
            found << i;
    }
    list(found, tr("%1 examples of the %2 map with variability %3–%4 and confidence %5–%6")
                    .arg(found.size())
                    .arg(stageLabel(loaded->stage).toLower())
                    .arg(region.left(), 0, 'f', 2).arg(region.right(), 0, 'f', 2)
                    .arg(region.top(), 0, 'f', 2).arg(region.bottom(), 0, 'f', 2));
}

void InsightDataMap::setListing(int listing)
{
    listing_->setCurrentIndex(listing);
    listedSide_ = maps_[Right] ? Right : Left;
    if (listing == Region) {
        list({}, tr("Drag a rectangle over either map to list its examples."));
        return;
    }
    if (!aligned()) {
        list({}, tr("Needs the baseline's and the student's maps of the same training examples."));
        return;
    }
    const DataMap &a = maps_[Left]->map, &b = maps_[Right]->map;
    QList<qint64> order;
    for (std::int64_t i = 0; i < a.size(); ++i)
        if (std::isfinite(a.confidence[std::size_t(i)]) && std::isfinite(b.confidence[std::size_t(i)]))
            order << i;
    const auto gain = [&](qint64 i) { return b.confidence[std::size_t(i)] - a.confidence[std::size_t(i)]; };
    std::stable_sort(order.begin(), order.end(), [&](qint64 x, qint64 y) {
        return listing == Easier ? gain(x) > gain(y) : gain(x) < gain(y);
    });
    const auto shown = std::min<qsizetype>(order.size(), kMaxListed);
    list(order.mid(0, shown), listing == Easier
                                  ? tr("The %1 examples by how much the teacher raised their confidence (the "
                                       "student's minus the baseline's); the first %2 ringed").arg(shown).arg(kRinged)
                                  : tr("The %1 examples by how much the teacher lowered their confidence; the first "
                                       "%2 ringed").arg(shown).arg(kRinged));
}

void InsightDataMap::list(const QList<qint64> &positions, const QString &caption)
{
    listed_ = positions.mid(0, kMaxListed);
    caption_->setText(positions.size() > kMaxListed
                          ? caption + tr(" (the first %1 listed)").arg(kMaxListed)
                          : caption);
    examples_->setSortingEnabled(false);
    examples_->setRowCount(int(listed_.size()));
    const bool both = aligned();
    // The positions are the listing side's; the other map's figures only where both cover the same examples.
    const DataMap *left = maps_[Left] && (both || listedSide_ == Left) ? &maps_[Left]->map : nullptr;
    const DataMap *right = maps_[Right] && (both || listedSide_ == Right) ? &maps_[Right]->map : nullptr;
    for (int r = 0; r < listed_.size(); ++r) {
        const auto i = std::size_t(listed_[r]);
        const Loaded &source = *maps_[listedSide_];
        auto *rowItem = new QTableWidgetItem;
        rowItem->setData(Qt::DisplayRole, qlonglong(source.dynamics.trainRows[i]));
        examples_->setItem(r, Row, rowItem);
        const auto label = source.dynamics.labels[i];
        examples_->setItem(r, Class, new QTableWidgetItem(label >= 0 && label < classNames_.size()
                                                              ? classNames_[int(label)]
                                                              : QString::number(label)));
        const double nan = std::nan("");
        examples_->setItem(r, LeftConfidence, number(left ? left->confidence[i] : nan));
        examples_->setItem(r, LeftVariability, number(left ? left->variability[i] : nan));
        examples_->setItem(r, RightConfidence, number(right ? right->confidence[i] : nan));
        examples_->setItem(r, RightVariability, number(right ? right->variability[i] : nan));
        examples_->setItem(r, Gain, number(left && right ? right->confidence[i] - left->confidence[i] : nan));
        examples_->setItem(r, Right_, number(right ? right->correctness[i] : nan));
    }
    examples_->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder); // in the listing's order until a click
    examples_->setSortingEnabled(true);
    setThumbnails();
    highlight();
}

void InsightDataMap::highlight()
{
    const bool both = aligned();
    for (int side = 0; side < 2; ++side) {
        QCustomPlot *p = plots_[side]->plot();
        if (p->graphCount() == 0)
            continue;
        QCPGraph *ring = p->graph(p->graphCount() - 1);
        QVector<double> keys, values;
        // Without a common set of examples a position means nothing on the other map.
        const bool mine = maps_[side] && (both || side == listedSide_);
        // A region's examples all; of a ranking, its head, else the rings would hide the map.
        const auto ringed = listing_->currentIndex() == Region ? listed_ : listed_.mid(0, kRinged);
        if (mine)
            for (qint64 i : ringed) {
                keys << maps_[side]->map.variability[std::size_t(i)];
                values << maps_[side]->map.confidence[std::size_t(i)];
            }
        ring->setData(keys, values);
        p->replot();
    }
}
