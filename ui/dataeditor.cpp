#include "dataeditor.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QSpinBox>
#include <QThread>
#include <QToolButton>

using namespace distillery;

DataEditor::DataEditor(QWidget *parent) : QGroupBox(tr("Data"), parent)
{
    auto *f = new QFormLayout(this);
    source_ = new QComboBox(this);
    for (const auto &s : dataSources())
        source_->addItem(QString::fromStdString(s));
    auto *pathRow = new QHBoxLayout;
    path_ = new QLineEdit(this);
    auto *browse = new QToolButton(this);
    browse->setText(tr("…"));
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browse);
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
    info_ = new QLabel(this);
    info_->setWordWrap(true);
    auto *strip = new QWidget(this);
    samples_ = new QHBoxLayout(strip);
    samples_->setContentsMargins(0, 0, 0, 0);
    samples_->setSpacing(2);
    // Two rows of fields, the samples and one line of numbers: the data set
    // is in view with the models and the distillation settings under it.
    pathRow->insertWidget(0, source_);
    auto *splitRow = new QHBoxLayout;
    splitRow->addWidget(validation_, 1);
    splitRow->addSpacing(8);
    auto *transferLabel = new QLabel(tr("Student samples"), this);
    transferLabel->setBuddy(transfer_);
    splitRow->addWidget(transferLabel);
    splitRow->addWidget(transfer_, 1);
    auto *sourceLabel = new QLabel(tr("&Source"), this);
    sourceLabel->setBuddy(source_);
    f->setVerticalSpacing(4);
    f->addRow(sourceLabel, pathRow);
    f->addRow(tr("Validation"), splitRow);
    f->addRow(strip);
    f->addRow(info_);

    connect(source_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!filling_)
            path_->setText(QString::fromStdString(defaultDataPath(source_->currentText().toStdString())));
        settingsChanged();
    });
    connect(path_, &QLineEdit::editingFinished, this, &DataEditor::settingsChanged);
    connect(validation_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &DataEditor::settingsChanged);
    connect(transfer_, qOverload<int>(&QSpinBox::valueChanged), this, &DataEditor::settingsChanged);
    connect(browse, &QToolButton::clicked, this, [this] {
        const bool file = source_->currentText() == QLatin1String("csv");
        const QString p = file ? QFileDialog::getOpenFileName(this, tr("CSV file"), path_->text(), tr("CSV (*.csv)"))
                               : QFileDialog::getExistingDirectory(this, tr("Data folder"), path_->text());
        if (!p.isEmpty()) {
            path_->setText(p);
            settingsChanged();
        }
    });
}

DataEditor::~DataEditor()
{
    // Data loads run on their own threads and post their result to this editor:
    // wait for them (a second or two at most) before it goes away.
    for (const auto &t : loaders_)
        if (t)
            t->wait();
}

void DataEditor::setConfig(const DataConfig &c)
{
    filling_ = true;
    base_ = c;
    source_->setCurrentText(QString::fromStdString(c.source));
    path_->setText(QString::fromStdString(c.path.empty() ? defaultDataPath(c.source) : c.path));
    validation_->setValue(c.validationFraction);
    transfer_->setValue(int(c.studentTrainSize));
    filling_ = false;
}

DataConfig DataEditor::config() const
{
    DataConfig c = base_;
    c.source = source_->currentText().toStdString();
    const std::string path = path_->text().trimmed().toStdString();
    c.path = path == defaultDataPath(c.source) ? std::string() : path;
    c.validationFraction = validation_->value();
    c.studentTrainSize = transfer_->value();
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
    // Loading Fashion-MNIST takes a second: do it off the GUI thread. The result
    // comes back as a queued call (the destructor waits for the thread, so the
    // editor outlives it); a result from an older request is dropped.
    QThread *thread = QThread::create([this, generation, data] {
        DatasetPreview preview;
        QString error;
        try {
            preview = previewDataset(data);
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
        info_->setText(QStringLiteral("<span style='color:#c62828'>%1</span>").arg(error.toHtmlEscaped()));
        ready_ = false;
        Q_EMIT changed();
        return;
    }
    summary_ = preview.summary;
    const auto &s = summary_;
    for (const auto &img : preview.samples) {
        const QImage::Format format = img.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
        QImage image(img.pixels.data(), img.width, img.height, img.width * img.channels, format);
        auto *label = new QLabel;
        // Sharp on a high-DPI screen: scaled to the device's pixels, not the layout's.
        const qreal dpr = devicePixelRatioF();
        QPixmap pixmap = QPixmap::fromImage(image.scaled(QSize(36, 36) * dpr, Qt::KeepAspectRatio, Qt::SmoothTransformation));
        pixmap.setDevicePixelRatio(dpr);
        label->setPixmap(pixmap);
        label->setToolTip(QString::fromStdString(s.classNames.at(std::size_t(img.label))));
        samples_->addWidget(label);
    }
    samples_->addStretch();
    QStringList classes;
    for (std::size_t i = 0; i < s.classNames.size(); ++i)
        classes << QStringLiteral("%1 (%2)").arg(QString::fromStdString(s.classNames[i]).toHtmlEscaped())
                       .arg(i < s.trainClassCounts.size() ? s.trainClassCounts[i] : 0);
    info_->setText(tr("%1 train · %2 validation · %3 test · input %4 · %5 classes")
                       .arg(s.trainSamples)
                       .arg(s.validationSamples)
                       .arg(s.testSamples)
                       .arg(QString::fromStdString(shapeToString(s.inputShape)))
                       .arg(s.classes) +
                   (s.studentTrainSamples != s.trainSamples
                        ? tr("; students learn from %1").arg(s.studentTrainSamples)
                        : QString()));
    // The description and the classes with their counts on demand.
    info_->setToolTip(tr("%1<br>%2 classes: %3")
                          .arg(QString::fromStdString(s.description).toHtmlEscaped())
                          .arg(s.classes)
                          .arg(classes.join(QStringLiteral(", "))));
    ready_ = true;
    Q_EMIT loaded();
}
