#include "exportdialog.h"

#include "curveimage.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QThread>
#include <QUrl>
#include <QVBoxLayout>

#include <cmath>

using namespace distillery;

namespace {

QString formatTitle(const QString &f)
{
    if (f == QLatin1String("torchscript"))
        return ExportDialog::tr("TorchScript (torch.jit.load, LibTorch)");
    if (f == QLatin1String("onnx"))
        return ExportDialog::tr("ONNX, opset 13 (ONNX runtimes, OpenCV DNN)");
    if (f == QLatin1String("safetensors"))
        return ExportDialog::tr("safetensors weights and architecture JSON");
    if (f == QLatin1String("card"))
        return ExportDialog::tr("Model card (Markdown, with the curves as PNG and the analysis as SVG)");
    return f;
}

} // namespace

ExportDialog::ExportDialog(const QString &runDir, QWidget *parent) : QDialog(parent), runDir_(runDir)
{
    setWindowTitle(tr("Export model"));
    auto *form = new QFormLayout;
    auto *runLabel = new QLabel(QDir::toNativeSeparators(runDir));
    runLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Run:"), runLabel);

    model_ = new QComboBox;
    model_->addItem(tr("Distilled student"), QStringLiteral("student"));
    model_->addItem(tr("Baseline student"), QStringLiteral("baseline"));
    model_->addItem(tr("Teacher"), QStringLiteral("teacher"));
    form->addRow(tr("Model:"), model_);

    folder_ = new QLineEdit(QDir(runDir).filePath(QStringLiteral("export")));
    auto *browse = new QPushButton(tr("&Browse…"));
    browse->setAutoDefault(false); // Return exports
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export to"), folder_->text());
        if (!dir.isEmpty())
            folder_->setText(dir);
    });
    auto *folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_, 1);
    folderRow->addWidget(browse);
    form->addRow(tr("Folder:"), folderRow);

    auto *formatBox = new QVBoxLayout;
    for (const auto &f : exportFormats()) {
        auto *box = new QCheckBox(formatTitle(QString::fromStdString(f)));
        box->setProperty("format", QString::fromStdString(f));
        box->setChecked(true);
        formats_ << box;
        formatBox->addWidget(box);
    }
    form->addRow(tr("Formats:"), formatBox);

    status_ = new QLabel(tr("Each file is loaded back after writing and compared with the model in Distillery."));
    status_->setWordWrap(true);
    table_ = new QTableWidget(0, 5);
    table_->setHorizontalHeaderLabels({tr("Format"), tr("File"), tr("Largest difference"), tr("Same predictions"), tr("Result")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    exportButton_ = buttons->addButton(tr("&Export"), QDialogButtonBox::AcceptRole);
    exportButton_->setDefault(true);
    openFolder_ = buttons->addButton(tr("&Open folder"), QDialogButtonBox::ActionRole);
    openFolder_->setEnabled(false);
    openFolder_->setToolTip(tr("Show the exported files in the file manager"));
    connect(exportButton_, &QPushButton::clicked, this, &ExportDialog::startExport);
    connect(openFolder_, &QPushButton::clicked, this, [this] {
        QDesktopServices::openUrl(QUrl::fromLocalFile(QDir(folder_->text().trimmed()).absolutePath()));
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(status_);
    layout->addWidget(table_, 1);
    layout->addWidget(buttons);
    resize(760, 460);
}

ExportDialog::~ExportDialog()
{
    // The worker may be waiting for this thread to draw the curves.
    while (worker_ && !worker_->wait(20))
        QCoreApplication::processEvents();
}

void ExportDialog::setOutputFolder(const QString &dir)
{
    folder_->setText(dir);
}

QString ExportDialog::outputFolder() const
{
    return folder_->text();
}

void ExportDialog::setFormatChecked(const QString &format, bool checked)
{
    for (auto *box : formats_)
        if (box->property("format").toString() == format)
            box->setChecked(checked);
}

void ExportDialog::reject()
{
    if (worker_)
        return; // an export cannot be abandoned half-way; it is short
    QDialog::reject();
}

void ExportDialog::startExport()
{
    if (worker_)
        return;
    ExportRequest request;
    request.runDir = runDir_.toStdString();
    request.outDir = folder_->text().trimmed().toStdString();
    request.model = model_->currentData().toString().toStdString();
    for (auto *box : formats_)
        if (box->isChecked())
            request.formats.push_back(box->property("format").toString().toStdString());
    if (request.formats.empty()) {
        status_->setText(tr("Choose at least one format."));
        return;
    }
    // The curves are drawn by widgets, which live on this thread.
    request.drawCurves = [this](const std::string &run, const std::string &png) {
        QString error;
        QMetaObject::invokeMethod(
            this, [&] { error = drawRunCurves(QString::fromStdString(run), QString::fromStdString(png)); },
            Qt::BlockingQueuedConnection);
        return error.toStdString();
    };
    report_ = {};
    error_.clear();
    table_->setRowCount(0);
    exportButton_->setEnabled(false);
    status_->setText(tr("Exporting and checking…"));
    QApplication::setOverrideCursor(Qt::BusyCursor);

    auto result = std::make_shared<std::pair<ExportReport, QString>>();
    worker_ = QThread::create([request, result] {
        try {
            result->first = exportRun(request);
        } catch (const std::exception &e) {
            result->second = QString::fromStdString(e.what());
        }
    });
    connect(worker_, &QThread::finished, this, [this, result] {
        worker_->deleteLater();
        worker_ = nullptr;
        QApplication::restoreOverrideCursor();
        report_ = result->first;
        error_ = result->second;
        exportButton_->setEnabled(true);
        openFolder_->setEnabled(QFileInfo(folder_->text().trimmed()).isDir());
        if (openFolder_->isEnabled())
            openFolder_->setFocus(); // what comes next: look at the files
        showReport();
        Q_EMIT exportFinished(error_.isEmpty() && report_.ok());
    });
    worker_->start();
}

void ExportDialog::showReport()
{
    if (!error_.isEmpty()) {
        status_->setText(tr("<b>Export failed:</b> %1").arg(error_.toHtmlEscaped()));
        return;
    }
    int failed = 0;
    for (const auto &f : report_.files) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        const QString diff = f.maxAbsDifference < 0 ? QStringLiteral("–")
                                                    : QStringLiteral("%1 (≤ %2)").arg(f.maxAbsDifference, 0, 'g', 2).arg(f.bound, 0, 'g', 1);
        const QString agree = f.samples ? QStringLiteral("%1/%2").arg(f.agreeingPredictions).arg(f.samples) : QStringLiteral("–");
        const QString done = f.format == "card" ? tr("written") : tr("written and checked");
        const QString result = f.ok ? (f.message.empty() ? done : QString::fromStdString(f.message))
                                    : tr("FAILED: %1").arg(QString::fromStdString(f.message));
        const QStringList cells{QString::fromStdString(f.format), QFileInfo(QString::fromStdString(f.path)).fileName(),
                                diff, agree, result};
        for (int c = 0; c < cells.size(); ++c) {
            auto *item = new QTableWidgetItem(cells[c]);
            if (!f.ok)
                item->setForeground(QColor(198, 40, 40));
            table_->setItem(row, c, item);
        }
        failed += f.ok ? 0 : 1;
    }
    status_->setText(failed ? tr("<b>%1 of %2 files failed</b>; see the table. Checked on %3.")
                                  .arg(failed).arg(report_.files.size()).arg(QString::fromStdString(report_.batchDescription).toHtmlEscaped())
                            : tr("All files written to %1 and checked on %2.")
                                  .arg(QDir::toNativeSeparators(folder_->text()).toHtmlEscaped(),
                                       QString::fromStdString(report_.batchDescription).toHtmlEscaped()));
}
