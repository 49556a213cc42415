#include "dataeditor.h"

#include "elidedlabel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMouseEvent>
#include <QPixmap>
#include <QSpinBox>
#include <QThread>
#include <QToolButton>
#include <QWidgetAction>

#include <algorithm>

using namespace distillery;

namespace {

// Thrown from the progress callback to stop decoding a folder nobody waits for.
struct LoadCancelled : std::exception {
    const char *what() const noexcept override { return "cancelled"; }
};

bool isSynthetic(const QString &source)
{
    return source.startsWith(QLatin1String("synthetic"));
}

// A menu of checkboxes that stays open while they are ticked, so that several
// classes are chosen in one go.
class CheckMenu : public QMenu {
public:
    using QMenu::QMenu;

protected:
    void mouseReleaseEvent(QMouseEvent *e) override
    {
        QAction *a = activeAction();
        if (a && a->isEnabled() && a->isCheckable()) {
            a->trigger();
            return;
        }
        QMenu::mouseReleaseEvent(e);
    }
};

} // namespace

DataEditor::DataEditor(QWidget *parent) : QGroupBox(tr("Data"), parent)
{
    form_ = new QFormLayout(this);
    auto *sourceRow = makeSourceRow();
    makeSourceFields();
    validation_ = new QDoubleSpinBox(this);
    validation_->setRange(0.0, 0.5);
    validation_->setSingleStep(0.05);
    validation_->setToolTip(tr("Fraction of the training set held out for validation (model selection)"));
    transfer_ = new QSpinBox(this);
    transfer_->setRange(0, 10'000'000);
    transfer_->setSingleStep(100);
    transfer_->setSpecialValueText(tr("all"));
    transfer_->setToolTip(tr("Transfer set: the students learn from only this many class-balanced training samples "
                             "(the teacher from all). Soft targets carry most when labels are few."));
    classes_ = new ElidedLabel(this);
    info_ = new QLabel(this);
    info_->setWordWrap(true);
    auto *strip = new QWidget(this);
    samples_ = new QHBoxLayout(strip);
    samples_->setContentsMargins(0, 0, 0, 0);
    samples_->setSpacing(2);
    // Two rows of fields (more for the sources with settings of their own),
    // the samples, their classes and one line of numbers: the data set is in
    // view with the models and the distillation settings under it.
    auto *splitRow = new QHBoxLayout;
    splitRow->addWidget(validation_, 1);
    splitRow->addSpacing(8);
    auto *transferLabel = new QLabel(tr("Student samples"), this);
    transferLabel->setBuddy(transfer_);
    splitRow->addWidget(transferLabel);
    splitRow->addWidget(transfer_, 1);
    splitRow->addWidget(makeOmitButton());
    auto *sourceLabel = new QLabel(tr("&Source"), this);
    sourceLabel->setBuddy(source_);
    form_->setVerticalSpacing(4);
    form_->addRow(sourceLabel, sourceRow);
    form_->addRow(tr("Colour"), color_);
    form_->addRow(tr("Size"), sizeRow_);
    form_->addRow(tr("Labels"), labels_);
    form_->addRow(tr("Validation"), splitRow);
    form_->addRow(strip);
    form_->addRow(classes_);
    form_->addRow(info_);
    form_->setRowVisible(classes_, false); // until there are classes to count
    updateRows();

    connect(validation_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &DataEditor::settingsChanged);
    connect(transfer_, qOverload<int>(&QSpinBox::valueChanged), this, &DataEditor::settingsChanged);
}

QHBoxLayout *DataEditor::makeSourceRow()
{
    source_ = new QComboBox(this);
    for (const auto &s : dataSources())
        source_->addItem(QString::fromStdString(s));
    source_->setToolTip(tr("folder: your own images, one folder per class (or train/ and test/ folders laid out "
                           "that way); cifar100: the folder holding train.bin and test.bin"));
    path_ = new QLineEdit(this);
    browse_ = new QToolButton(this);
    browse_->setText(tr("Browse…"));
    auto *row = new QHBoxLayout;
    row->addWidget(source_);
    row->addWidget(path_, 1);
    row->addWidget(browse_);
    connect(source_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!filling_)
            path_->setText(QString::fromStdString(defaultDataPath(source_->currentText().toStdString())));
        updateRows();
        settingsChanged();
    });
    connect(path_, &QLineEdit::editingFinished, this, &DataEditor::settingsChanged);
    connect(browse_, &QToolButton::clicked, this, &DataEditor::browse);
    return row;
}

// The settings of image folders (colour, size, resizing) and of CIFAR-100
// (its labels), shown only for their source.
void DataEditor::makeSourceFields()
{
    color_ = new QComboBox(this);
    color_->addItem(tr("auto (as the first image)"), QStringLiteral("auto"));
    color_->addItem(tr("grayscale"), QStringLiteral("grayscale"));
    color_->addItem(tr("RGB"), QStringLiteral("rgb"));
    color_->setToolTip(tr("The images' channels: one grey channel or three colour ones; others are converted"));
    height_ = new QSpinBox(this);
    width_ = new QSpinBox(this);
    for (QSpinBox *box : {height_, width_}) {
        box->setRange(0, 4096);
        box->setSpecialValueText(tr("auto"));
        box->setKeyboardTracking(false); // one load for a typed number, not one per digit
        box->setToolTip(tr("Height × width in pixels; auto: the first image's size"));
    }
    resize_ = new QCheckBox(tr("Resize"), this);
    resize_->setToolTip(tr("Resize images of another size to this one; else such an image is an error naming it"));
    sizeRow_ = new QHBoxLayout;
    sizeRow_->addWidget(height_);
    sizeRow_->addWidget(new QLabel(QStringLiteral("×"), this));
    sizeRow_->addWidget(width_);
    sizeRow_->addSpacing(8);
    sizeRow_->addWidget(resize_);
    sizeRow_->addStretch();
    labels_ = new QComboBox(this);
    labels_->addItem(tr("fine (100 classes)"), QStringLiteral("fine"));
    labels_->addItem(tr("coarse (20 superclasses)"), QStringLiteral("coarse"));
    labels_->setToolTip(tr("CIFAR-100's labels: its 100 classes, or the 20 superclasses that group them"));
    connect(color_, qOverload<int>(&QComboBox::currentIndexChanged), this, &DataEditor::settingsChanged);
    connect(labels_, qOverload<int>(&QComboBox::currentIndexChanged), this, &DataEditor::settingsChanged);
    connect(resize_, &QCheckBox::toggled, this, &DataEditor::settingsChanged);
    connect(height_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { sizeChanged(height_); });
    connect(width_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { sizeChanged(width_); });
}

DataEditor::~DataEditor()
{
    // Data loads run on their own threads and post their result to this editor:
    // stop their decoding and wait for them (a second or two at most) before it
    // goes away.
    ++generation_;
    for (const auto &t : loaders_)
        if (t)
            t->wait();
}

void DataEditor::browse()
{
    const QString source = source_->currentText();
    const QString p = source == QLatin1String("csv")
                          ? QFileDialog::getOpenFileName(this, tr("CSV file"), path_->text(), tr("CSV (*.csv)"))
                          : QFileDialog::getExistingDirectory(this, source == QLatin1String("folder")
                                                                        ? tr("Folder of class folders")
                                                                        : tr("Data folder"),
                                                              path_->text());
    if (!p.isEmpty()) {
        path_->setText(p);
        settingsChanged();
    }
}

void DataEditor::updateRows()
{
    const QString source = source_->currentText();
    const bool folder = source == QLatin1String("folder");
    form_->setRowVisible(color_, folder);
    form_->setRowVisible(sizeRow_, folder);
    form_->setRowVisible(labels_, source == QLatin1String("cifar100"));
    // Synthetic data are made, not read: no path.
    path_->setVisible(!isSynthetic(source));
    browse_->setVisible(!isSynthetic(source));
    path_->setPlaceholderText(folder ? tr("folder of class folders") : source == QLatin1String("csv") ? tr("CSV file")
                                                                                                    : tr("data folder"));
    browse_->setToolTip(source == QLatin1String("csv") ? tr("Choose the CSV file") : tr("Choose the data folder"));
}

// A size is both numbers or neither (auto): the other one follows.
void DataEditor::sizeChanged(QSpinBox *edited)
{
    QSpinBox *other = edited == height_ ? width_ : height_;
    if ((edited->value() == 0) != (other->value() == 0)) {
        const QSignalBlocker block(other);
        other->setValue(edited->value());
    }
    settingsChanged();
}

int DataEditor::sampleCount() const
{
    return samples_->count() > 0 ? samples_->count() - 1 : 0; // less the stretch
}

void DataEditor::setConfig(const DataConfig &c)
{
    filling_ = true;
    base_ = c;
    source_->setCurrentText(QString::fromStdString(c.source));
    path_->setText(QString::fromStdString(c.path.empty() ? defaultDataPath(c.source) : c.path));
    color_->setCurrentIndex(std::max(0, color_->findData(QString::fromStdString(c.color))));
    height_->setValue(c.imageHeight);
    width_->setValue(c.imageWidth);
    resize_->setChecked(c.resize);
    labels_->setCurrentIndex(std::max(0, labels_->findData(QString::fromStdString(c.cifar100Labels))));
    validation_->setValue(c.validationFraction);
    transfer_->setValue(int(c.studentTrainSize));
    biasShift_->setValue(c.omittedBiasShift.value_or(biasShift_->minimum()));
    setOmitted(QSet<int>(c.omitClasses.begin(), c.omitClasses.end()));
    updateRows();
    filling_ = false;
}

DataConfig DataEditor::config() const
{
    DataConfig c = base_;
    c.source = source_->currentText().toStdString();
    const std::string path = path_->text().trimmed().toStdString();
    c.path = path == defaultDataPath(c.source) ? std::string() : path;
    c.color = color_->currentData().toString().toStdString();
    c.imageHeight = height_->value();
    c.imageWidth = width_->value();
    c.resize = resize_->isChecked();
    c.cifar100Labels = labels_->currentData().toString().toStdString();
    c.validationFraction = validation_->value();
    c.studentTrainSize = transfer_->value();
    c.omitClasses.assign(omitted_.begin(), omitted_.end());
    std::sort(c.omitClasses.begin(), c.omitClasses.end());
    c.omittedBiasShift.reset();
    if (biasShift_->value() >= 0.0)
        c.omittedBiasShift = biasShift_->value();
    return c;
}

void DataEditor::settingsChanged()
{
    if (!filling_)
        reload();
}

void DataEditor::reload()
{
    ready_ = false;
    error_.clear();
    info_->setText(tr("Loading…"));
    Q_EMIT changed();
    const int generation = ++generation_;
    const DataConfig data = config();
    DataLoadOptions options;
    options.cacheDir = cacheDir_.toStdString();
    // Called on the loading thread while an image folder decodes (core calls
    // it a few times a second): shown through a queued call, and the decoding
    // stops once a newer load has replaced this one.
    options.progress = [this, generation](std::int64_t done, std::int64_t total) {
        if (generation != generation_)
            throw LoadCancelled();
        QMetaObject::invokeMethod(
            this, [this, generation, done, total] { showProgress(generation, done, total); }, Qt::QueuedConnection);
    };
    // Loading Fashion-MNIST takes a second: do it off the GUI thread. The result
    // comes back as a queued call (the destructor waits for the thread, so the
    // editor outlives it); a result from an older request is dropped.
    QThread *thread = QThread::create([this, generation, data, options] {
        DatasetPreview preview;
        QString error;
        try {
            preview = previewDataset(data, options);
        } catch (const std::exception &e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            this, [this, generation, preview, error] { showPreview(generation, preview, error); }, Qt::QueuedConnection);
    });
    // Queued: `finished` comes from the loading thread; the QThread object is
    // deleted on the GUI thread, where it lives.
    connect(thread, &QThread::finished, thread, &QObject::deleteLater, Qt::QueuedConnection);
    loaders_.removeAll(nullptr);
    loaders_.append(thread);
    thread->start();
}

void DataEditor::showProgress(int generation, qint64 done, qint64 total)
{
    if (generation != generation_ || ready_ || !error_.isEmpty())
        return;
    info_->setText(tr("Decoding images: %1 of %2").arg(QLocale().toString(done), QLocale().toString(total)));
}

void DataEditor::showPreview(int generation, const DatasetPreview &preview, const QString &error)
{
    if (generation != generation_)
        return;
    while (QLayoutItem *item = samples_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    if (!error.isEmpty()) {
        error_ = error;
        classes_->setFullText(QString());
        classes_->setToolTip(QString());
        form_->setRowVisible(classes_, false); // the error has the room
        info_->setText(QStringLiteral("<span style='color:#c62828'>%1</span>").arg(error.toHtmlEscaped()));
        info_->setToolTip(QString());
        ready_ = false;
        Q_EMIT changed();
        return;
    }
    summary_ = preview.summary;
    setOmitted(omitted_); // the classes' names
    const auto &s = summary_;
    showSamples(preview);
    showClasses(s);
    // One line at the panel's usual width: the classes are counted on theirs.
    info_->setText(tr("%1 train · %2 validation · %3 test · input %4")
                       .arg(s.trainSamples)
                       .arg(s.validationSamples)
                       .arg(s.testSamples)
                       .arg(QString::fromStdString(shapeToString(s.inputShape))) +
                   (s.studentTrainSamples != s.trainSamples
                        ? tr("; students learn from %1").arg(s.studentTrainSamples)
                        : QString()));
    info_->setToolTip(QString::fromStdString(s.description));
    ready_ = true;
    Q_EMIT loaded();
}

void DataEditor::showSamples(const DatasetPreview &preview)
{
    for (const auto &img : preview.samples) {
        const QImage::Format format = img.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
        QImage image(img.pixels.data(), img.width, img.height, img.width * img.channels, format);
        auto *label = new QLabel;
        // Sharp on a high-DPI screen: scaled to the device's pixels, not the layout's.
        const qreal dpr = devicePixelRatioF();
        QPixmap pixmap = QPixmap::fromImage(image.scaled(QSize(36, 36) * dpr, Qt::KeepAspectRatio, Qt::SmoothTransformation));
        pixmap.setDevicePixelRatio(dpr);
        label->setPixmap(pixmap);
        label->setToolTip(QString::fromStdString(preview.summary.classNames.at(std::size_t(img.label))));
        samples_->addWidget(label);
    }
    samples_->addStretch();
}

// The classes with their training samples, on one line elided to the width
// (an unbalanced folder shows at a glance); all of them in the tool tip.
void DataEditor::showClasses(const DatasetSummary &s)
{
    QStringList classes;
    for (std::size_t i = 0; i < s.classNames.size(); ++i)
        classes << QStringLiteral("%1 %2").arg(QString::fromStdString(s.classNames[i]))
                       .arg(i < s.trainClassCounts.size() ? s.trainClassCounts[i] : 0);
    classes_->setFullText(tr("%1 classes: %2").arg(s.classes).arg(classes.join(QStringLiteral(" · "))));
    form_->setRowVisible(classes_, true);
    classes_->setToolTip(tr("<p>%1 classes, with their training samples: %2</p>")
                             .arg(s.classes)
                             .arg(classes.join(QStringLiteral(" · ")).toHtmlEscaped()));
}

// Hinton et al.'s transfer sets that leave classes out (section 3): the
// students never see them and learn them from the teacher's soft targets
// alone. A tool button on the validation row, so that it costs no height.
QToolButton *DataEditor::makeOmitButton()
{
    omit_ = new QToolButton(this);
    omit_->setObjectName(QStringLiteral("omitClasses"));
    omit_->setPopupMode(QToolButton::InstantPopup);
    omitMenu_ = new CheckMenu(omit_);
    omit_->setMenu(omitMenu_);
    biasShift_ = new QDoubleSpinBox(this);
    biasShift_->setObjectName(QStringLiteral("omittedBiasShift"));
    biasShift_->setRange(-0.5, 100.0);
    biasShift_->setSingleStep(0.5);
    biasShift_->setSpecialValueText(tr("chosen on validation"));
    biasShift_->setToolTip(tr("After training, the omitted classes' output biases of the distilled student are "
                              "raised by this much (the paper's correction). By default the shift that gives the "
                              "best validation accuracy; the results show the accuracy before and after."));
    // The shift's row, kept while the class list is made again each time.
    auto *shiftRow = new QWidget(this);
    auto *row = new QHBoxLayout(shiftRow);
    row->setContentsMargins(8, 2, 8, 2);
    row->addWidget(new QLabel(tr("Bias shift"), shiftRow));
    row->addWidget(biasShift_);
    shiftAction_ = new QWidgetAction(omitMenu_);
    shiftAction_->setDefaultWidget(shiftRow);
    connect(omitMenu_, &QMenu::aboutToShow, this, &DataEditor::fillOmitMenu);
    connect(biasShift_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] {
        // Negative shifts are refused: every value under 0 means "chosen".
        if (biasShift_->value() < 0.0 && biasShift_->value() > biasShift_->minimum()) {
            const QSignalBlocker block(biasShift_);
            biasShift_->setValue(biasShift_->minimum());
        }
        if (!filling_)
            Q_EMIT changed(); // the students' rows stay the same: no reload
    });
    setOmitted({});
    return omit_;
}

QString DataEditor::className(int c) const
{
    return c >= 0 && std::size_t(c) < summary_.classNames.size() ? QString::fromStdString(summary_.classNames[std::size_t(c)])
                                                                  : tr("class %1").arg(c);
}

void DataEditor::fillOmitMenu()
{
    omitMenu_->removeAction(shiftAction_); // kept: clear() deletes the rest
    omitMenu_->clear();
    const int classes = int(summary_.classNames.size());
    if (classes == 0) {
        omitMenu_->addAction(tr("Classes are listed once the data has loaded"))->setEnabled(false);
        return;
    }
    omitMenu_->addSection(tr("Leave out of the students' transfer set"));
    for (int c = 0; c < classes; ++c) {
        QAction *a = omitMenu_->addAction(QStringLiteral("%1  %2").arg(c).arg(className(c)));
        a->setCheckable(true);
        a->setChecked(omitted_.contains(c));
        a->setData(c);
        connect(a, &QAction::toggled, this, [this, c](bool on) {
            QSet<int> next = omitted_;
            on ? (void)next.insert(c) : (void)next.remove(c);
            setOmitted(next);
            settingsChanged();
        });
    }
    omitMenu_->addSeparator();
    omitMenu_->addAction(tr("Omit none"), this, [this] {
        setOmitted({});
        settingsChanged();
    });
    omitMenu_->addAction(tr("Invert (keep only the omitted)"), this, [this, classes] {
        QSet<int> inverted;
        for (int c = 0; c < classes; ++c)
            if (!omitted_.contains(c))
                inverted.insert(c);
        setOmitted(inverted);
        settingsChanged();
    });
    omitMenu_->addAction(shiftAction_);
}

void DataEditor::setOmitted(const QSet<int> &classes)
{
    omitted_ = classes;
    QList<int> sorted(classes.begin(), classes.end());
    std::sort(sorted.begin(), sorted.end());
    QStringList names;
    for (int c : sorted)
        names << className(c);
    omit_->setText(sorted.isEmpty()       ? tr("Omit: none")
                   : sorted.size() == 1   ? tr("Omit: %1").arg(names.first())
                                          : tr("Omit %1 classes").arg(sorted.size()));
    omit_->setToolTip(sorted.isEmpty()
                          ? tr("Classes left out of the students' transfer set: none. Hinton et al. left some out; "
                               "the students then learn them from the teacher's soft targets alone.")
                          : tr("Left out of the students' transfer set (the teacher learns them): %1. The distilled "
                               "student's biases for them are then raised; the results show their accuracy before "
                               "and after.")
                                .arg(names.join(QStringLiteral(", "))));
    biasShift_->setEnabled(!classes.isEmpty());
}
