// The data of an experiment: its source and path (with the settings of image
// folders and CIFAR-100), the validation split and the students' transfer set
// (its size, and the classes it leaves out with their bias shift).
// Loads the data set whenever these change, off the GUI thread, and shows
// some of its samples, its classes and its numbers.
#pragma once

#include "distillery/data.h"

#include <QGroupBox>
#include <QList>
#include <QPointer>
#include <QSet>

#include <atomic>

class ElidedLabel;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QMenu;
class QSpinBox;
class QThread;
class QWidgetAction;
class QToolButton;

class DataEditor : public QGroupBox {
    Q_OBJECT
public:
    explicit DataEditor(QWidget *parent = nullptr);
    ~DataEditor() override;

    // Shows `c` without loading it: reload() does.
    void setConfig(const distillery::DataConfig &c);
    distillery::DataConfig config() const;
    // Where decoded image folders are kept between loads and runs
    // (<workspace>/cache, as the engine keeps them); empty: nowhere.
    void setCacheDir(const QString &dir) { cacheDir_ = dir; }
    QString cacheDir() const { return cacheDir_; }
    // Loads the data set as the fields say.
    void reload();
    // Whether the data set has been loaded and checked.
    bool isReady() const { return ready_; }
    // Why it could not be loaded; empty when it could, or is still loading.
    QString problem() const { return error_; }
    const distillery::DatasetSummary &summary() const { return summary_; }

    // Widgets tests drive and read.
    QComboBox *sourceBox() const { return source_; }
    QLineEdit *pathEdit() const { return path_; }
    QToolButton *browseButton() const { return browse_; }
    QComboBox *colorBox() const { return color_; }
    QSpinBox *heightBox() const { return height_; }
    QSpinBox *widthBox() const { return width_; }
    QCheckBox *resizeBox() const { return resize_; }
    QComboBox *labelsBox() const { return labels_; }
    ElidedLabel *classesLabel() const { return classes_; }
    // Its menu: a checkable action per class (data: the class), made when it
    // opens, and the bias shift's box.
    QToolButton *omitButton() const { return omit_; }
    QDoubleSpinBox *biasShiftBox() const { return biasShift_; }
    QLabel *infoLabel() const { return info_; }
    int sampleCount() const;

Q_SIGNALS:
    // A field changed, or a load began or failed.
    void changed();
    // A load succeeded: summary() describes the new data set.
    void loaded();

private:
    QHBoxLayout *makeSourceRow();
    void makeSourceFields();
    void browse();
    void updateRows();
    void sizeChanged(QSpinBox *edited);
    void settingsChanged();
    void showProgress(int generation, qint64 done, qint64 total);
    void showPreview(int generation, const distillery::DatasetPreview &preview, const QString &error);
    void showSamples(const distillery::DatasetPreview &preview);
    void showClasses(const distillery::DatasetSummary &s);
    QToolButton *makeOmitButton();
    void fillOmitMenu();
    void setOmitted(const QSet<int> &classes);
    QString className(int c) const;

    QFormLayout *form_;
    QComboBox *source_;
    QLineEdit *path_;
    QToolButton *browse_;
    QComboBox *color_;
    QSpinBox *height_;
    QSpinBox *width_;
    QCheckBox *resize_;
    QHBoxLayout *sizeRow_;
    QComboBox *labels_;
    QDoubleSpinBox *validation_;
    QSpinBox *transfer_;
    QToolButton *omit_;
    QMenu *omitMenu_;
    QDoubleSpinBox *biasShift_;
    QWidgetAction *shiftAction_;
    QSet<int> omitted_;
    ElidedLabel *classes_;
    QLabel *info_;
    QHBoxLayout *samples_;

    distillery::DataConfig base_; // values without a widget are kept as set
    distillery::DatasetSummary summary_;
    QString cacheDir_;
    QString error_;
    bool ready_ = false;
    bool filling_ = false;
    // The latest load; read by the loading threads, which stop decoding an
    // image folder that a newer load has replaced.
    std::atomic<int> generation_{0};
    QList<QPointer<QThread>> loaders_; // data loads still running
};
