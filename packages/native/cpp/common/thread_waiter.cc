// The portable WordWaiter: one detached, short-stacked thread per wait (macOS, and Linux without futex_waitv),
// plus WaiterFor() and MonotonicMs() shared with linux/futex_waitv.cc.
// Thread-safety: the job list is guarded by mu_; each job's fields other than `cancelled` belong to its thread.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <list>
#include <mutex>

#include "common/addon_data.h"
#include "common/thread_name.h"
#include "common/word_waiter.h"

namespace shm {

double MonotonicMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

namespace {

void StopWaiter(void* arg) { static_cast<WordWaiter*>(arg)->Stop(); }

// A slice bounds how long a cancel whose wake-up landed before the thread slept can go unnoticed.
constexpr double kSliceMs = 1000;

class ThreadWaiter : public WordWaiter, public std::enable_shared_from_this<ThreadWaiter> {
 public:
  ThreadWaiter(std::shared_ptr<Dispatcher> d, WaitOnceFn wait, WakeAllFn wake)
      : d_(std::move(d)), wait_(wait), wake_(wake) {}

  void Add(WordWaitRequest r) override {
    auto job = std::make_shared<Job>();
    job->r = std::move(r);
    job->owner = shared_from_this();
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.push_back(job);
      job->self = std::prev(jobs_.end());
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread inherits it: signals stay with node's threads
    auto* arg = new std::shared_ptr<Job>(job);
    int rc = pthread_create(&job->thread, &attr, Main, arg);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      delete arg;
      Finish(job, -rc);
    }
  }

  void CancelMapping(const MapState* st) override {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& j : jobs_) {
      if (j->r.st.get() != st || j->cancelled.exchange(true)) continue;
      d_->Post(j->r.id, kWaitClosed);  // settle now; the thread ends within a slice at worst
      wake_(j->r.addr);
    }
  }

  void Stop() override {
    std::unique_lock<std::mutex> lk(mu_);
    stopping_ = true;
    for (auto& j : jobs_) j->cancelled = true;
    while (!jobs_.empty()) {
      for (auto& j : jobs_) wake_(j->r.addr);  // repeated: a wake that lands before the wait is lost
      cv_.wait_for(lk, std::chrono::milliseconds(10));
    }
  }

  const char* backend() const override { return "thread"; }
  int threads() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return static_cast<int>(jobs_.size());
  }

 private:
  struct Job {
    WordWaitRequest r;
    std::atomic<bool> cancelled{false};
    std::shared_ptr<ThreadWaiter> owner;
    std::list<std::shared_ptr<Job>>::iterator self;
    pthread_t thread;
  };

  static void* Main(void* arg) {
    NameThisThread("shm-waiter");
    std::shared_ptr<Job> job = std::move(*static_cast<std::shared_ptr<Job>*>(arg));
    delete static_cast<std::shared_ptr<Job>*>(arg);
    int r = kWaitTimedOut;
    for (;;) {
      if (job->cancelled) break;
      double left = job->r.deadline_ms - MonotonicMs();
      if (left <= 0) {
        r = kWaitTimedOut;
        break;
      }
      bool last = left <= kSliceMs;
      r = job->owner->wait_(job->r.addr, job->r.expected, last ? left : kSliceMs);
      if (r == kWaitInterrupted || (r == kWaitTimedOut && !last)) continue;
      break;
    }
    job->owner->Finish(job, r);
    return nullptr;
  }

  void Finish(const std::shared_ptr<Job>& job, int r) {
    if (!job->cancelled) d_->Post(job->r.id, r);
    job->r.st->Leave();
    job->r.st.reset();
    std::shared_ptr<ThreadWaiter> keep = std::move(job->owner);  // this object outlives the unlock below
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.erase(job->self);
    cv_.notify_all();
  }

  std::shared_ptr<Dispatcher> d_;
  WaitOnceFn wait_;
  WakeAllFn wake_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::shared_ptr<Job>> jobs_;
  bool stopping_ = false;
};

}  // namespace

std::shared_ptr<WordWaiter> MakeThreadWaiter(std::shared_ptr<Dispatcher> d, WaitOnceFn wait, WakeAllFn wake) {
  return std::make_shared<ThreadWaiter>(std::move(d), wait, wake);
}

WordWaiter& WaiterFor(Napi::Env env, WaiterFactory make) {
  AddonData& data = Data(env);
  if (!data.word_waiter) {
    data.word_waiter = make(Dispatcher::For(env));
    // After the dispatcher's hook, so it runs first: the threads are joined before posting stops.
    napi_add_env_cleanup_hook(env, StopWaiter, data.word_waiter.get());
  }
  return *data.word_waiter;
}

}  // namespace shm
