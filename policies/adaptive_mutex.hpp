#pragma once
// adaptive_mutex: a mutex that spins a little before it sleeps. The ledger's critical
// sections are a few hundred nanoseconds; a plain mutex sends a contended waiter to the
// kernel and back for each one, which costs more than the section itself.

#include <pthread.h>

namespace creditgate::policies {

class adaptive_mutex {
public:
    adaptive_mutex() {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
        pthread_mutex_init(&mutex_, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    ~adaptive_mutex() { pthread_mutex_destroy(&mutex_); }
    adaptive_mutex(const adaptive_mutex&) = delete;
    adaptive_mutex& operator=(const adaptive_mutex&) = delete;

    void lock() { pthread_mutex_lock(&mutex_); }
    bool try_lock() { return pthread_mutex_trylock(&mutex_) == 0; }
    void unlock() { pthread_mutex_unlock(&mutex_); }

private:
    pthread_mutex_t mutex_;
};

}  // namespace creditgate::policies
