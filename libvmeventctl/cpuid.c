/*
 * cpuid.c: does a waiting vCPU stand on a CPUID whose result Xen already
 * wrote?  The rescue's completion of it (docs/xen-behaviour.md, "CPUID
 * events").
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "private.h"

#include <xen/hvm/save.h>   /* after xenctrl.h, which defines its types */

#define X86_EFLAGS_TF 0x100u

/*
 * Xen's hvm_vmexit_cpuid (xen/arch/x86/hvm/hvm.c) writes the 32-bit
 * result into RAX..RDX, then sends the CPUID event; vmx.c and svm.c move
 * RIP past the instruction only when no event was sent.  So a vCPU that
 * waits on a CPUID event stands on 0f a2 with the upper halves of RAX..RDX
 * zero.  Anything else (a prefixed CPUID, one across a page, a vCPU the
 * guest itself single-steps, a register with upper bits) gets the bare
 * answer: a wrong guess would skip an instruction the vCPU has not run.
 */
int vmeventctl__cpuid_completion(vmeventctl_handle *h, uint32_t domid, unsigned int v,
                                 struct vm_event_regs_x86 *regs)
{
    struct hvm_hw_cpu cpu;
    unsigned long gfn;
    uint64_t lin, high;
    unsigned int off;
    uint8_t *code;
    int hit;

    if ( xc_domain_hvm_getcontext_partial(h->xch, domid, HVM_SAVE_CODE(CPU), (uint16_t)v,
                                          &cpu, sizeof(cpu)) )
    {
        LOGD(h, domid, "rescue: answer", "vCPU %u: no HVM context (errno %d): bare answer",
             v, errno);
        return 0;
    }
    high = (cpu.rax >> 32) + (cpu.rbx >> 32) + (cpu.rcx >> 32) + (cpu.rdx >> 32);
    if ( high != 0 )
        return 0;
    if ( cpu.rflags & X86_EFLAGS_TF )
        return 0;
    lin = cpu.cs_base + cpu.rip;
    off = (unsigned int)(lin & (XC_PAGE_SIZE - 1));
    if ( off > XC_PAGE_SIZE - 2 )
        return 0;
    gfn = xc_translate_foreign_address(h->xch, domid, (int)v, lin);
    if ( !gfn )
    {
        LOGD(h, domid, "rescue: answer", "vCPU %u: RIP %#llx not mapped (errno %d): bare answer",
             v, (unsigned long long)cpu.rip, errno);
        return 0;
    }
    code = xc_map_foreign_range(h->xch, domid, XC_PAGE_SIZE, PROT_READ, gfn);
    if ( !code )
    {
        LOGD(h, domid, "rescue: answer", "vCPU %u: cannot map gfn %#lx (errno %d): bare answer",
             v, gfn, errno);
        return 0;
    }
    hit = code[off] == 0x0f && code[off + 1] == 0xa2;
    munmap(code, XC_PAGE_SIZE);
    if ( !hit )
        return 0;

    /* hvm/vm_event.c: hvm_vm_event_set_registers writes all of these. */
    memset(regs, 0, sizeof(*regs));
    regs->rax = cpu.rax; regs->rbx = cpu.rbx; regs->rcx = cpu.rcx; regs->rdx = cpu.rdx;
    regs->rsp = cpu.rsp; regs->rbp = cpu.rbp; regs->rsi = cpu.rsi; regs->rdi = cpu.rdi;
    regs->r8 = cpu.r8;   regs->r9 = cpu.r9;   regs->r10 = cpu.r10; regs->r11 = cpu.r11;
    regs->r12 = cpu.r12; regs->r13 = cpu.r13; regs->r14 = cpu.r14; regs->r15 = cpu.r15;
    regs->rflags = cpu.rflags;
    regs->rip = cpu.rip + 2;
    return 1;
}

VMEVENTCTL_EXPORT
int vmeventctl_vcpu_at_cpuid(vmeventctl_handle *h, uint32_t domid, uint32_t vcpu)
{
    struct vm_event_regs_x86 regs;

    return vmeventctl__cpuid_completion(h, domid, vcpu, &regs);
}
