// A part of a form that folds to a one-line summary and opens on demand: a
// flat button with an arrow and the summary, and the content under it. Keeps
// the set-up panel short enough that what is distilled into what, and how,
// is in view without scrolling.
#pragma once

#include <QWidget>

class QToolButton;
class QVBoxLayout;

class FoldSection : public QWidget {
    Q_OBJECT
public:
    explicit FoldSection(QWidget *parent = nullptr);

    // The content shown when open; the section takes ownership.
    void setContent(QWidget *content);
    QWidget *content() const { return content_; }
    // The line shown beside the arrow, open or folded.
    void setSummary(const QString &text);
    QString summary() const;
    void setOpen(bool open);
    bool isOpen() const;
    QToolButton *toggleButton() const { return toggle_; }

Q_SIGNALS:
    void toggled(bool open);

private:
    QToolButton *toggle_;
    QVBoxLayout *layout_;
    QWidget *content_ = nullptr;
};
