// Insight ▸ Data map: dataset cartography (Swayamdipta et al. 2020) of the
// students' training. Each training example is a point: across the epochs,
// the mean probability the model gave its true class (confidence, y) and its
// standard deviation (variability, x), coloured by the fraction of epochs it
// was right (analysis/<stage>.dynamics; docs/INSIGHT.md). The baseline's map
// beside the distilled student's shows which examples the teacher made easy.
// Dragging a rectangle over either map lists its examples and rings them on
// both maps; the list can also rank the examples by how much the teacher
// raised (or lowered) their confidence.
#pragma once

#include "distillery/analysis.h"

#include <QHash>
#include <QImage>
#include <QPointer>
#include <QRectF>
#include <QWidget>

#include <optional>

class InsightPlot;
class QComboBox;
class QLabel;
class QTableWidget;
class QThread;
struct InsightRun;

class InsightDataMap : public QWidget {
    Q_OBJECT
public:
    enum Side { Left = 0, Right = 1 };          // the baseline's (or teacher's) map, the student's
    enum Listing { Region = 0, Easier = 1, Harder = 2 };
    enum Column { Row, Class, LeftConfidence, LeftVariability, RightConfidence, RightVariability, Gain, Right_ };

    explicit InsightDataMap(QWidget *parent = nullptr);
    ~InsightDataMap() override;
    // Reads the run's training dynamics (`run` is read at once, not kept).
    void setRun(const InsightRun &run);

    InsightPlot *map(Side side) const { return plots_[side]; }
    QLabel *messageLabel() const { return message_; }
    QComboBox *listingBox() const { return listing_; }
    QTableWidget *examples() const { return examples_; }
    // The stage shown on a side ("baseline", "student", ...), or empty.
    QString stageOf(Side side) const { return maps_[side] ? maps_[side]->stage : QString(); }
    // Each side's data map, as drawn.
    const distillery::DataMap *dataMap(Side side) const { return maps_[side] ? &maps_[side]->map : nullptr; }
    const distillery::TrainingDynamics *dynamics(Side side) const
    {
        return maps_[side] ? &maps_[side]->dynamics : nullptr;
    }
    // The examples listed, as positions in the maps (rows of the dynamics files).
    QList<qint64> listed() const { return listed_; }
    static constexpr int kMaxListed = 2000;
    // Whether the training examples' pictures have been read (or failed to be).
    bool picturesRead() const { return picturesRead_; }
    QString picturesError() const { return picturesError_; }

public Q_SLOTS:
    // Lists the examples of `side`'s map inside `region` (x variability, y
    // confidence), what dragging a rectangle does.
    void selectRegion(int side, const QRectF &region);
    void setListing(int listing);

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Loaded {
        QString stage;
        distillery::TrainingDynamics dynamics;
        distillery::DataMap map;
    };
    void draw(Side side);
    void list(const QList<qint64> &positions, const QString &caption);
    void highlight();
    bool aligned() const;
    // The examples' pictures, read off the GUI thread when the view is first shown.
    void startReading();
    void picturesArrived(int generation, std::vector<std::int64_t> rows, std::vector<QImage> pictures, QString error);
    // Both maps' training rows, each once, in order.
    std::vector<std::int64_t> mapRows() const;
    void setThumbnails();

    InsightPlot *plots_[2];
    std::optional<Loaded> maps_[2];
    QStringList classNames_;
    QLabel *message_;
    QLabel *caption_;
    QComboBox *listing_;
    QTableWidget *examples_;
    QList<qint64> listed_;
    QString runDir_;
    int listedSide_ = Right;            // whose positions `listed_` holds
    std::vector<std::int64_t> pictureRows_; // the training rows whose pictures were asked for
    QString picturesDir_;               // and the run they were asked of
    QHash<qint64, QImage> pictures_;    // by training row
    bool picturesRead_ = false;
    bool reading_ = false;
    QString picturesError_;
    int generation_ = 0;
    QList<QPointer<QThread>> readers_;
};
